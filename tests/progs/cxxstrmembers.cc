// char * members seen through `this`, a reference, and in a crash's call
// stack: each function prints the strings' bytes and addresses as JSON (the
// ground truth), and the last one faults.   cxxstrmembers [--crash]
#include <cstdint>
#include <cstdio>
#include <cstring>
#include "common.h"

struct Place {
	const char *name;
	int floor;
	char *note;

	NOINLINE int visit(int k);
};

NOINSTR static void out(const char *f, const char *param, const Place &p)
{
	std::printf("{\"f\":\"%s\",\"%s\":{\"name\":{\"address\":\"%#lx\",\"value\":\"%s\"},"
		    "\"floor\":%d,\"note\":{\"address\":\"%#lx\",\"value\":\"%s\"}}}\n", f, param,
		    (unsigned long)(uintptr_t)p.name, p.name, p.floor,
		    (unsigned long)(uintptr_t)p.note, p.note);
	std::fflush(stdout);
}

NOINLINE int Place::visit(int k)
{
	out("Place::visit", "this", *this);
	return floor + k;
}

NOINLINE int inspect(const Place &p)
{
	out("inspect", "p", p);
	return p.floor;
}

NOINLINE void store(Place *p, int v)
{
	out("store", "p", *p);
	*(volatile int *)(uintptr_t)v = p->floor; // v == 0 faults
}

int main(int argc, char **argv)
{
	char note[] = "ground floor";
	Place p{ "lobby", 0, note };

	p.visit(1);
	inspect(p);
	if (argc > 1 && !std::strcmp(argv[1], "--crash"))
		store(&p, 0);
	std::strcpy(note, "CHANGED!!!!");
	return 0;
}
