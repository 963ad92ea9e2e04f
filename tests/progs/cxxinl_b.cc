/* The second unit of cxxinl.cc (see cxxinl.h). */
#include "cxxinl.h"

int other_unit(int n)
{
	std::string s;
	for (int i = 0; i < n; i++)
		s += static_cast<char>('a' + twice(i) % 26);
	return static_cast<int>(s.size()) + keep_helper(n);
}
