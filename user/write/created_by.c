#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cjson/cJSON.h>
#include "write/created_by.h"

static bool u64_of(const cJSON *o, const char *k, uint64_t *v)
{
	const cJSON *n = cJSON_GetObjectItemCaseSensitive(o, k);

	if (!cJSON_IsNumber(n) || n->valuedouble < 0 || n->valuedouble > 18446744073709549568.0)
		return false;
	*v = (uint64_t)n->valuedouble;
	return true;
}

static char *str_of(const cJSON *o, const char *k)
{
	const cJSON *s = cJSON_GetObjectItemCaseSensitive(o, k);

	return cJSON_IsString(s) ? strdup(s->valuestring) : NULL;
}

/* "a > b > c"; a name not known is "?"; "... > b > c" when calls outside
 * b may be missing */
static char *path_of(const cJSON *path, bool complete)
{
	char *buf = NULL;
	size_t len = 0;
	const cJSON *e;
	FILE *m;

	if (!cJSON_IsArray(path) || !cJSON_GetArraySize(path) || !(m = open_memstream(&buf, &len)))
		return NULL;
	if (!complete)
		fputs("... > ", m);
	cJSON_ArrayForEach(e, path)
	{
		fprintf(m, "%s%s", e == path->child ? "" : " > ",
			cJSON_IsString(e) ? e->valuestring : "?");
	}
	if (fclose(m)) {
		free(buf);
		return NULL;
	}
	return buf;
}

static int fill(const cJSON *o, struct created_by *cb)
{
	const cJSON *call = cJSON_GetObjectItemCaseSensitive(o, "call");

	if (!u64_of(o, "thread_id", &cb->tid) || !u64_of(o, "time_ns", &cb->time_ns))
		return 0;
	if (!(cb->json = cJSON_PrintUnformatted(o)))
		return -1;
	if (cJSON_IsObject(call)) {
		cb->function = str_of(call, "function");
		cb->has_start = u64_of(call, "start_ns", &cb->start_ns);
		cb->path = path_of(
			cJSON_GetObjectItemCaseSensitive(call, "path"),
			!cJSON_IsFalse(cJSON_GetObjectItemCaseSensitive(call, "path_complete")));
	}
	cb->unavailable = str_of(o, "call_unavailable");
	return 1;
}

int created_by_read(const char *more, struct created_by *cb)
{
	char *doc;
	cJSON *o;
	int rc;

	memset(cb, 0, sizeof(*cb));
	if (!more || !strstr(more, "\"created_by\""))
		return 0;
	if (asprintf(&doc, "{%s}", more) < 0)
		return -1;
	o = cJSON_Parse(doc);
	free(doc);
	if (!o)
		return 0;
	rc = cJSON_IsObject(cJSON_GetObjectItemCaseSensitive(o, "created_by")) ?
		     fill(cJSON_GetObjectItemCaseSensitive(o, "created_by"), cb) :
		     0;
	cJSON_Delete(o);
	if (rc != 1)
		created_by_free(cb);
	return rc;
}

void created_by_free(struct created_by *cb)
{
	free(cb->json);
	free(cb->function);
	free(cb->path);
	free(cb->unavailable);
	memset(cb, 0, sizeof(*cb));
}
