/* Seed for fuzz_elf: a shared object that imports the hooks (PLT/GOT sites). */
struct buf { char *data; unsigned len; };

static int hidden(int v) { return v ^ 0x55; }
int lib_len(const struct buf *b) { return b ? (int)b->len + hidden(1) : -1; }
const char *lib_name(const char *s, int n) { return n > 0 ? s + 1 : s; }
void lib_fill(struct buf *b, char c)
{
	for (unsigned i = 0; i < b->len; i++)
		b->data[i] = c;
}
