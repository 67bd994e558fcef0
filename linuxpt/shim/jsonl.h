/*
 * jsonl.h: a tiny JSON reader, just enough for one protocol v1 request object
 * per line (docs/protocol.md).  Header-only, our own code; shared by
 * linuxpt's harness and examples/c-radix.  Numbers are parsed as unsigned
 * 64-bit integers (they go beyond 2^53).
 */
#ifndef IOMMU_SPEC_JSONL_H
#define IOMMU_SPEC_JSONL_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum jtype { J_NULL, J_BOOL, J_NUM, J_STR, J_ARR, J_OBJ };

struct jval {
	enum jtype type;
	int is_uint;           /* J_NUM: a non-negative integer below 2^64 */
	uint64_t u;
	char *str;             /* J_STR */
	struct jval *items;    /* J_ARR, J_OBJ (values) */
	char **keys;           /* J_OBJ */
	size_t n;
};

struct parser {
	const char *p;
	int depth;
	int bad;
};

static void skip_ws(struct parser *ps)
{
	while (*ps->p == ' ' || *ps->p == '\t' || *ps->p == '\r' || *ps->p == '\n')
		ps->p++;
}

static int parse_value(struct parser *ps, struct jval *v);

static char *parse_string(struct parser *ps)
{
	size_t cap = 16, len = 0;
	char *out = malloc(cap);

	if (!out || *ps->p != '"')
		goto bad;
	ps->p++;
	while (*ps->p && *ps->p != '"') {
		char c = *ps->p++;
		if (c == '\\') {
			c = *ps->p++;
			if (c == 'u') { /* keep escapes out of our way: any code unit becomes '?' */
				for (int i = 0; i < 4; i++)
					if (!*ps->p++)
						goto bad;
				c = '?';
			} else if (c == 'n') {
				c = '\n';
			} else if (c == 't') {
				c = '\t';
			} else if (!c) {
				goto bad;
			}
		}
		if (len + 2 > cap) {
			char *grown = realloc(out, cap *= 2);
			if (!grown)
				goto bad;
			out = grown;
		}
		out[len++] = c;
	}
	if (*ps->p != '"')
		goto bad;
	ps->p++;
	out[len] = 0;
	return out;
bad:
	free(out);
	ps->bad = 1;
	return NULL;
}

static int parse_number(struct parser *ps, struct jval *v)
{
	int neg = 0, frac = 0, overflow = 0;
	uint64_t u = 0;

	v->type = J_NUM;
	if (*ps->p == '-') {
		neg = 1;
		ps->p++;
	}
	if (*ps->p < '0' || *ps->p > '9')
		return ps->bad = 1, -1;
	while (*ps->p >= '0' && *ps->p <= '9') {
		unsigned d = (unsigned)(*ps->p++ - '0');
		if (u > (UINT64_MAX - d) / 10)
			overflow = 1;
		u = u * 10 + d;
	}
	if (*ps->p == '.' || *ps->p == 'e' || *ps->p == 'E') {
		frac = 1;
		ps->p++;
		while ((*ps->p >= '0' && *ps->p <= '9') || *ps->p == '+' || *ps->p == '-' ||
		       *ps->p == 'e' || *ps->p == 'E' || *ps->p == '.')
			ps->p++;
	}
	v->is_uint = !neg && !frac && !overflow;
	v->u = u;
	return 0;
}

static int parse_list(struct parser *ps, struct jval *v, int object)
{
	char close = object ? '}' : ']';
	size_t cap = 0;

	v->type = object ? J_OBJ : J_ARR;
	ps->p++;
	skip_ws(ps);
	if (*ps->p == close) {
		ps->p++;
		return 0;
	}
	for (;;) {
		if (v->n == cap) {
			cap = cap ? cap * 2 : 8;
			struct jval *items = realloc(v->items, cap * sizeof(*items));
			char **keys = object ? realloc(v->keys, cap * sizeof(*keys)) : NULL;
			if (!items || (object && !keys)) {
				if (items)
					v->items = items;
				if (keys)
					v->keys = keys;
				return ps->bad = 1, -1;
			}
			v->items = items;
			if (object)
				v->keys = keys;
		}
		memset(&v->items[v->n], 0, sizeof(v->items[0]));
		if (object) {
			skip_ws(ps);
			v->keys[v->n] = parse_string(ps);
			if (ps->bad)
				return -1;
			skip_ws(ps);
			if (*ps->p++ != ':')
				return ps->bad = 1, -1;
		}
		v->n++;
		if (parse_value(ps, &v->items[v->n - 1]))
			return -1;
		skip_ws(ps);
		if (*ps->p == ',') {
			ps->p++;
			continue;
		}
		if (*ps->p == close) {
			ps->p++;
			return 0;
		}
		return ps->bad = 1, -1;
	}
}

static int parse_value(struct parser *ps, struct jval *v)
{
	if (++ps->depth > 32)
		return ps->bad = 1, -1;
	skip_ws(ps);
	int ret = 0;
	switch (*ps->p) {
	case '{': ret = parse_list(ps, v, 1); break;
	case '[': ret = parse_list(ps, v, 0); break;
	case '"': v->type = J_STR; v->str = parse_string(ps); ret = ps->bad ? -1 : 0; break;
	case 't': v->type = J_BOOL; ret = strncmp(ps->p, "true", 4) ? -1 : (ps->p += 4, 0); break;
	case 'f': v->type = J_BOOL; ret = strncmp(ps->p, "false", 5) ? -1 : (ps->p += 5, 0); break;
	case 'n': v->type = J_NULL; ret = strncmp(ps->p, "null", 4) ? -1 : (ps->p += 4, 0); break;
	default: ret = parse_number(ps, v); break;
	}
	ps->depth--;
	if (ret)
		ps->bad = 1;
	return ret;
}

static void free_value(struct jval *v)
{
	for (size_t i = 0; i < v->n; i++) {
		free_value(&v->items[i]);
		if (v->keys)
			free(v->keys[i]);
	}
	free(v->items);
	free(v->keys);
	free(v->str);
}

static const struct jval *field(const struct jval *obj, const char *key)
{
	for (size_t i = obj->n; i-- > 0;) /* the last duplicate wins, as in Python */
		if (obj->keys[i] && !strcmp(obj->keys[i], key))
			return &obj->items[i];
	return NULL;
}

/* Read a u64 field; sets *bad and names the field when it is missing or not a u64. */
static uint64_t get_u64(const struct jval *req, const char *key, const char **bad)
{
	const struct jval *v = field(req, key);

	if (!v || v->type != J_NUM || !v->is_uint) {
		if (!*bad)
			*bad = key;
		return 0;
	}
	return v->u;
}

/*
 * The optional window of a dump request, {"op":"dump","iova":I,"size":S}: sets *lo and
 * *last to [I, I+S-1] (inclusive, saturating at 2^64-1), or to the whole space when the
 * request has no "iova".  A size of 0 sets *bad.
 */
static void get_dump_window(const struct jval *req, uint64_t *lo, uint64_t *last,
			    const char **bad)
{
	uint64_t size;

	*lo = 0;
	*last = UINT64_MAX;
	if (!field(req, "iova"))
		return;
	*lo = get_u64(req, "iova", bad);
	size = get_u64(req, "size", bad);
	if (!*bad && !size)
		*bad = "size";
	if (!*bad)
		*last = size - 1 > UINT64_MAX - *lo ? UINT64_MAX : *lo + (size - 1);
}

/*
 * The request loop of a protocol v1 server: one JSON object per line on stdin,
 * each handed to serve(), which prints its one-line reply; a line that is not a
 * JSON object is answered with an error.  Returns at end of input.
 */
static void serve_requests(void (*serve)(const struct jval *req))
{
	char *line = NULL;
	size_t cap = 0;

	while (getline(&line, &cap, stdin) > 0) {
		struct jval req = {0};
		struct parser ps = {line, 0, 0};

		parse_value(&ps, &req);
		skip_ws(&ps);
		if (ps.bad || *ps.p || req.type != J_OBJ)
			printf("{\"error\":\"bad request: not a JSON object\"}\n");
		else
			serve(&req);
		fflush(stdout);
		free_value(&req);
	}
	free(line);
}

#endif /* IOMMU_SPEC_JSONL_H */
