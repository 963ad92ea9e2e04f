#!/bin/sh
# Generates a C program with N instrumented functions (default 2000) that
# calls each once per round, sleeping between rounds: the attach/detach
# benchmark's target.
n=${1:-2000}
echo '#include <unistd.h>'
echo 'volatile long sink;'
i=0
while [ $i -lt "$n" ]; do
	echo "__attribute__((noinline)) void f$i(void) { sink += $i; }"
	i=$((i + 1))
done
echo 'int main(void) { for (;;) {'
i=0
while [ $i -lt "$n" ]; do
	echo "f$i();"
	i=$((i + 1))
done
echo 'usleep(10000); } }'
