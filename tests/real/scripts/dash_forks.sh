# Forks of every kind dash makes, and errors that unwind by longjmp (dash's
# exraise) in the parent and in the children. Builtins only but one external
# command; the output is checked by the test.
count() { n=0; while [ $n -lt "$1" ]; do n=$((n + 1)); done; echo "$n"; }

echo "subst $(count 20)"                         # command substitution: a fork
( count 5; exit 3 ); echo "subshell status $?"    # subshell with a status
count 7 | { read -r v; echo "pipe $v"; }           # a pipeline: two forks
( set -u; echo "unset $undefined_var" ) 2>/dev/null; echo "unset error $?"
( : "${must_be_set:?missing}" ) 2>/dev/null; echo "param error $?"
( eval 'if then' ) 2>/dev/null; echo "syntax error $?"
x=$( (exit 4); echo "inner $?" ); echo "nested $x"
for i in 1 2 3; do ( count "$i" ) & done; wait; echo "background done"
env true; echo "external $?"
# errors in the parent shell itself, caught by `command eval`
command eval 'echo ${bad:?not set}' 2>/dev/null || echo "caught in parent"
command eval 'if then' 2>/dev/null || echo "caught syntax in parent"
echo "end"
