#!/bin/sh
# Generates a C program with N instrumented functions (default 2000) that
# calls each once per round, sleeping between rounds: the attach/detach
# benchmark's target.
n=${1:-2000}
echo '#include <unistd.h>'
echo 'volatile long sink;'
seq 0 $((n - 1)) | sed 's/.*/__attribute__((noinline)) void f&(void) { sink += &; }/'
echo 'int main(void) { for (;;) {'
seq 0 $((n - 1)) | sed 's/.*/f&();/'
echo 'usleep(10000); } }'
