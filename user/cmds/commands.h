/* The subcommands that read traces or inspect binaries:
 *   ctrace-bpf convert TRACE.json --to chrome|folded|speedscope|svg [-o OUT] [--weight time|calls]
 *   ctrace-bpf report  TRACE.json [-s KEY] [--threads] [--tree] [-n N]
 *   (both also [--tid TID] [--time-range START:END]: cmds/slice.h)
 *   ctrace-bpf list    BINARY [-F PATTERN]...
 *   ctrace-bpf check   BINARY
 * Each takes argv[0] = its own name and returns the process exit status:
 * 0 success, 1 failure (one line "ctrace-bpf <cmd>: ..." on stderr), 2 usage
 * error. `check` returns 1 when the binary is not traceable. */
#ifndef CTRACE_COMMANDS_H
#define CTRACE_COMMANDS_H
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

int cmd_convert_main(int argc, char **argv);
int cmd_report_main(int argc, char **argv);
int cmd_list_main(int argc, char **argv);
int cmd_check_main(int argc, char **argv);

/* Converts the trace at in into out ("-" = stdout) in format fmt ("chrome",
 * "folded" or "svg"); weight_calls weighs folded stacks and flame-graph
 * frames by call counts instead of self time. out is written beside itself
 * and renamed into place when complete (a device or FIFO is written in place).
 * 0, or -1 with one line in err. */
int convert_file(const char *in, const char *out, const char *fmt, bool weight_calls, char *err,
		 size_t errlen);

/* ... the trace walked from src (the node spool, while tracing) */
struct trace_source;
int convert_source(const struct trace_source *src, const char *out, const char *fmt,
		   bool weight_calls, char *err, size_t errlen);

/* The options getopt_long returned that every subcommand treats alike:
 * 'h' prints usage and returns 0; ':' (an option without its value) or
 * anything else (an unknown option) is said for subcommand cmd ("ctrace-bpf
 * list") and returns 2, the usage-error status. next is getopt's optind. */
int cmd_other_option(const char *cmd, const char *usage, int c, char **argv, int next);

/* Each subcommand takes exactly one operand, what ("trace"), written as
 * placeholder ("TRACE.json"): none (or more) was given; returns 2 */
int cmd_one_operand(const char *cmd, bool none, const char *what, const char *placeholder);

/* The file convert_file writes for -f FMT beside trace: "t.json" gives
 * "t.trace.json", "t.folded", "t.speedscope.json" or "t.svg". 0, or -1 when fmt is not a format
 * or the name does not fit in len. */
int convert_output_name(const char *trace, const char *fmt, char *buf, size_t len);

/* The JSON document at path becomes its JSONL form, at path. Should that
 * fail, path keeps the JSON document (which every subcommand reads too).
 * 0, or -1 with one line in err. */
int convert_to_jsonl_in_place(const char *path, char *err, size_t errlen);
/* While tracing, after the JSON document is written at path: when path ends
 * in ".jsonl", converts it in place; a failure is a warning. */
void convert_jsonl_output(const char *path);

#endif
