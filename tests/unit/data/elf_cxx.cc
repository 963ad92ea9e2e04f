// C++ target for test_elf: a namespaced class method, to check demangling.
#include <cstdio>

namespace ns {
class Widget {
public:
	explicit Widget(int w) : w_(w) {}
	__attribute__((noinline)) int area() const { return w_ * w_; }
private:
	int w_;
};
}

int main(int argc, char **)
{
	ns::Widget w(argc + 1);
	std::printf("%d\n", w.area());
	return 0;
}
