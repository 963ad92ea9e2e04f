/* What typing captured values offline needs, in the compact trace
 * (doc/ctrace-format.md, EXT records): the --args/--retval settings, the
 * DWARF type model (value_fmt.h) as a table of types referenced by index,
 * the capture plans with their site infos as logged while recording
 * (attach/capture_state.h), and the functions that function-pointer values
 * named when they were captured. Written once per type and per plan. */
#ifndef CTRACE_MODEL_H
#define CTRACE_MODEL_H
#include <stddef.h>
#include <stdint.h>

struct capture;
struct config;
struct ctrace_writer;
struct filter;

/* ---- writing ---- */

/* the settings the decoder reads (args, retval, --capture patterns) */
void ctw_config(struct ctrace_writer *w, const struct config *cfg);
/* the plan changes c logged from change number from on, with the types they
 * use that the record does not hold yet */
void ctw_plans(struct ctrace_writer *w, const struct capture *c, size_t from);
/* the next ARGS or RETVAL record's function pointers: addr[i] named ids[i]
 * (a FUNC id; 0: no symbol covered it) */
void ctw_fnptrs(struct ctrace_writer *w, const uint64_t *addr, const uint32_t *ids, unsigned n);
/* the writer's type index (ctw_free frees it) */
struct model_enc;
void model_enc_free(struct model_enc *e);

/* ---- reading ---- */

/* the model rebuilt from a file's EXT records: it owns a capture (for the
 * replay, capture_replay_*) and everything that capture points to */
struct ctrace_model;
struct ctrace_model *model_new(void);
struct capture *model_capture(struct ctrace_model *m);
/* one EXT record's body (CT_EXT_CONFIG, TYPES or PLAN; others are not the
 * model's): 0, or -1 with the reason in err */
int model_apply(struct ctrace_model *m, unsigned sub, const uint8_t *body, size_t len, char *err,
		size_t errlen);
/* the types read so far (tests): NULL past the end */
const struct vtype *model_type(const struct ctrace_model *m, uint32_t idx);
void model_free(struct ctrace_model *m);

/* a FNPTR body: at most max pairs into addr/ids; the count, or -1 */
int model_fnptrs(const uint8_t *body, size_t len, uint64_t *addr, uint64_t *ids, unsigned max);

#endif
