/* char * members of struct arguments, by value and behind a pointer: each
 * function prints, as JSON, every string member's bytes and address, the
 * ground truth for --args. The strings are changed after the calls, so a
 * string read later than the probe would show. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "common.h"
#include "json_str.h"

struct person { const char *name; int age; const char *city; }; /* 24 bytes: on the stack */
struct node { const char *label; struct node *next; char *note; };
struct many { const char *s[5]; int n; };                        /* more than 4 strings */

NOINSTR static void out_str(const char *key, const char *s)
{
	printf("\"%s\":{\"address\":\"%#lx\",\"value\":", key, (unsigned long)(uintptr_t)s);
	if (!s) {
		printf("null}");
		return;
	}
	if ((uintptr_t)s < 4096) {
		printf("\"<bad pointer>\"}");
		return;
	}
	putchar('"');
	json_chars(s);
	printf("\"}");
}

NOINSTR static void out_person(const struct person *p)
{
	printf("{\"f\":\"meet\",\"p\":{");
	out_str("name", p->name);
	printf(",\"age\":%d,", p->age);
	out_str("city", p->city);
	printf("}}\n");
}

/* p's address is taken: it stays in its stack slot at -O2 too */
NOINLINE int meet(struct person p)
{
	out_person(&p);
	return p.age;
}

NOINLINE int visit(const struct node *n)
{
	printf("{\"f\":\"visit\",\"n\":");
	if (!n) {
		printf("null}\n");
		return 0;
	}
	printf("{");
	out_str("label", n->label);
	printf(",\"next\":\"%#lx\",", (unsigned long)(uintptr_t)n->next);
	out_str("note", n->note);
	printf("}}\n");
	return n->next != NULL;
}

NOINLINE int count(struct many m)
{
	printf("{\"f\":\"count\",\"m\":{\"s\":[");
	for (int i = 0; i < 5; i++) {
		printf(i ? ",{" : "{");
		out_str("s", m.s[i]);
		printf("}");
	}
	printf("],\"n\":%d}}\n", m.n);
	return m.n;
}

int main(void)
{
	char *longer = malloc(301), *note = strdup("scratch pad"), city[] = "caf\xe9 de Flore";
	struct node tail = { NULL, NULL, NULL }, head = { "head", &tail, note };
	struct many m = { { "one", "two", "three", "four", "five" }, 5 };

	memset(longer, 'y', 300);
	longer[300] = 0;
	tail.note = longer;
	meet((struct person){ "alice", 30, "Paris" });
	meet((struct person){ "bob", 41, NULL });
	meet((struct person){ longer, 7, city });
	meet((struct person){ (const char *)16, 2, "ok" }); /* unreadable: never a crash */
	visit(&head);
	visit(&tail);
	visit(NULL);
	count(m);
	/* after the calls: a string read late would show these */
	strcpy(note, "CHANGED!!!!");
	memset(longer, 'z', 300);
	city[0] = 'C';
	free(note);
	free(longer);
	return 0;
}
