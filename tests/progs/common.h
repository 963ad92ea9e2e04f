/* Shared by the test programs. The tests count calls exactly, so every counted
 * function must stay a real, separate function at -O2 too: no inlining, no
 * cloning (foo.constprop.0 would be a different symbol), and bodies that differ
 * so identical code folding cannot merge two functions into one address. */
#ifndef CTRACE_TEST_COMMON_H
#define CTRACE_TEST_COMMON_H

#define NOINLINE __attribute__((noinline, noclone))
/* Plumbing the tests do not count (thread starts, state files). */
#define NOINSTR __attribute__((no_instrument_function))

#endif
