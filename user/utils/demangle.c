/* C++ demangling through the C++ runtime's own demangler. */
#include "utils/demangle.h"

#include <stdlib.h>
#include <string.h>

extern char *__cxa_demangle(const char *, char *, size_t *, int *);

char *demangle(const char *raw)
{
	/* only "_Z" names are mangled: __cxa_demangle also decodes bare type
	 * encodings, which would turn a C function named "i" into "int" */
	if (strncmp(raw, "_Z", 2) == 0) {
		int status = 0;
		char *out = __cxa_demangle(raw, NULL, NULL, &status);
		if (status == 0 && out)
			return out;
		free(out);
	}
	/* C names keep their clone suffixes ("foo.constprop.0") as they are */
	return strdup(raw);
}
