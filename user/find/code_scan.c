/* The first instructions of a function, decoded one at a time (code_scan.h). */
#include "find/code_scan.h"
#include "find/elf_image.h"

#define SCAN_MAX 256

int code_scan(const struct elf_image *img, uint64_t entry, size_t len, bool detail,
	      code_scan_fn visit, void *ctx)
{
	uint8_t buf[SCAN_MAX];
	const uint8_t *code = buf;
	uint64_t addr = entry;
	size_t left;
	ssize_t n;
	cs_insn *in;
	csh cs;
	int rc = -1;

	if ((n = elf_read_code(img, entry, buf, len < SCAN_MAX ? len : SCAN_MAX)) < 0)
		return -1;
	left = (size_t)n;
	if (cs_open(CS_ARCH_X86, CS_MODE_64, &cs) != CS_ERR_OK)
		return -1;
	if ((!detail || cs_option(cs, CS_OPT_DETAIL, CS_OPT_ON) == CS_ERR_OK) &&
	    (in = cs_malloc(cs))) {
		rc = 0;
		while (cs_disasm_iter(cs, &code, &left, &addr, in))
			if (visit(cs, in, ctx))
				break;
		cs_free(in, 1);
	}
	cs_close(&cs);
	return rc;
}
