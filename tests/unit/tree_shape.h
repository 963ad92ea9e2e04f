/* A call tree's shape as a short string, for the unit tests that build
 * trees (test_tree.c, test_keep_filter.c). */
#ifndef CTRACE_TEST_TREE_SHAPE_H
#define CTRACE_TEST_TREE_SHAPE_H
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <cjson/cJSON.h>

/* "A(B,C)": the tree's shape; partial nodes get a '*' */
static void shape_of(const cJSON *nodes, char *out, size_t len)
{
	const cJSON *n;
	bool first = true;

	cJSON_ArrayForEach(n, nodes)
	{
		const cJSON *fn = cJSON_GetObjectItem(n, "function");
		const cJSON *kids = cJSON_GetObjectItem(n, "children");
		size_t l = strlen(out);

		snprintf(out + l, len - l, "%s%s%s", first ? "" : ",",
			 cJSON_IsString(fn) ? fn->valuestring : "?",
			 cJSON_IsTrue(cJSON_GetObjectItem(n, "partial")) ? "*" : "");
		first = false;
		if (cJSON_GetArraySize(kids)) {
			l = strlen(out);
			snprintf(out + l, len - l, "(");
			shape_of(kids, out, len);
			l = strlen(out);
			snprintf(out + l, len - l, ")");
		}
	}
}

#endif
