/* Template sets: loading and validation of the JSON files, and rendering examples into
 * (inputs, targets) strings. See template.h for the file format and the rng draw order. */
#define _POSIX_C_SOURCE 200809L /* opendir/readdir */
#include "data/template.h"

#include "base/error.h"
#include "data/reader_impl.h"
#include "data/strbuf.h"

#include <cjson/cJSON.h>
#include <dirent.h>
#include <stdlib.h>
#include <string.h>

#define MAX_LIST 32

enum { OPT_DASH, OPT_UPPER, OPT_LETTERS, OPT_LETTERS_LINES, OPT_N };
static const char *const opt_names[OPT_N] = {"dash", "OPTIONS", "letters", "letters_lines"};
static const char *const fmt_keys[4] = {"zero_shot", "few_shot", "cot", "cot_few_shot"};

typedef struct {
    const char *prefix, *inputs, *targets; /* NULL inputs = form absent */
    int inputs_has_options;
} form;

typedef struct {
    form f[4];
} tpl;

struct fv_template_set {
    cJSON *root; /* owns every string below */
    char path[512];
    const char *name;
    const char *tasks[MAX_LIST];
    size_t n_tasks;
    const char *seps[MAX_LIST];
    size_t n_seps;
    const char *joiner;
    int styles[OPT_N];
    size_t n_styles;
    const char *triggers[MAX_LIST];
    size_t n_triggers;
    double trigger_share;
    tpl *t;
    size_t n_t;
};

struct fv_template_lib {
    fv_template_set **sets;
    size_t n;
};

const char *fv_format_name(fv_format f) {
    return (unsigned)f < 4 ? fmt_keys[f] : "?";
}

/* ---- placeholders ---- */

enum { PH_QUESTION, PH_ANSWER, PH_RATIONALE, PH_DEFINITION, PH_OPTIONS, PH_TASK, PH_BAD };

static int ph_kind(const char *s, size_t n) {
    static const struct { const char *name; int kind; } names[] = {
        {"question", PH_QUESTION}, {"inputs", PH_QUESTION}, {"answer", PH_ANSWER}, {"targets", PH_ANSWER},
        {"rationale", PH_RATIONALE}, {"definition", PH_DEFINITION}, {"options", PH_OPTIONS}, {"task", PH_TASK}};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (strlen(names[i].name) == n && memcmp(names[i].name, s, n) == 0) return names[i].kind;
    return PH_BAD;
}

/* Check a pattern; returns 0 or an error naming where. Sets *has_opts if it uses {options}. */
static int check_pattern(const char *path, size_t ti, const char *key, const char *pat, int *has_opts) {
    for (const char *p = pat; *p; p++) {
        if (p[0] == '{' && p[1] == '{') { p++; continue; }
        if (p[0] == '}' && p[1] == '}') { p++; continue; }
        if (*p == '}') return fv_err("%s: templates[%zu].%s: unmatched '}' (write \"}}\" for a brace)", path, ti, key);
        if (*p != '{') continue;
        const char *e = strchr(p, '}');
        if (!e) return fv_err("%s: templates[%zu].%s: unclosed '{'", path, ti, key);
        int k = ph_kind(p + 1, (size_t)(e - p - 1));
        if (k == PH_BAD)
            return fv_err("%s: templates[%zu].%s: unknown placeholder {%.*s}", path, ti, key, (int)(e - p - 1), p + 1);
        if (k == PH_OPTIONS && has_opts) *has_opts = 1;
        p = e;
    }
    return 0;
}

static void render_options(fv_sb *b, const fv_example *ex, int style) {
    if (style == OPT_DASH || style == OPT_UPPER) {
        fv_sb_adds(b, style == OPT_DASH ? "Options:" : "OPTIONS:");
        for (size_t i = 0; i < ex->n_options; i++) {
            fv_sb_adds(b, "\n- ");
            fv_sb_adds(b, ex->options[i]);
        }
        return;
    }
    if (style == OPT_LETTERS_LINES) fv_sb_adds(b, "Options:\n");
    for (size_t i = 0; i < ex->n_options; i++) {
        if (i) fv_sb_adds(b, style == OPT_LETTERS ? " " : "\n");
        if (!ex->options_labeled) {
            char lab[8];
            snprintf(lab, sizeof lab, "(%c) ", (char)('A' + (i % 26)));
            fv_sb_adds(b, lab);
        }
        fv_sb_adds(b, ex->options[i]);
    }
}

/* Expand pat for ex into b. auto_opts: append options after {question}. Returns -1 when the pattern
 * needs a field the example lacks (the caller names the example). */
static int expand(fv_sb *b, const char *pat, const fv_example *ex, int style, int auto_opts, const char **missing) {
    for (const char *p = pat; *p; p++) {
        if ((p[0] == '{' && p[1] == '{') || (p[0] == '}' && p[1] == '}')) {
            fv_sb_addc(b, *p);
            p++;
            continue;
        }
        if (*p != '{') {
            const char *q = p;
            while (*q && *q != '{' && *q != '}') q++;
            fv_sb_add(b, p, (size_t)(q - p));
            p = q - 1;
            continue;
        }
        const char *e = strchr(p, '}');
        int k = ph_kind(p + 1, (size_t)(e - p - 1));
        p = e;
        switch (k) {
        case PH_QUESTION:
            fv_sb_adds(b, ex->inputs);
            if (auto_opts && ex->n_options) {
                fv_sb_addc(b, '\n');
                render_options(b, ex, style);
            }
            break;
        case PH_ANSWER: fv_sb_adds(b, ex->targets); break;
        case PH_RATIONALE:
            if (!ex->rationale || !ex->rationale[0]) { *missing = "rationale"; return -1; }
            fv_sb_adds(b, ex->rationale);
            break;
        case PH_DEFINITION:
            if (!ex->definition || !ex->definition[0]) { *missing = "definition"; return -1; }
            fv_sb_adds(b, ex->definition);
            break;
        case PH_OPTIONS: if (ex->n_options) render_options(b, ex, style); break;
        case PH_TASK: fv_sb_adds(b, ex->task); break;
        default: break;
        }
    }
    return 0;
}

static int ex_err(const fv_template_set *s, const fv_example *ex, const char *what) {
    if (ex->line) return fv_err("%s:%zu: template set %s: %s", ex->source ? ex->source : "?", ex->line, s->name, what);
    return fv_err("%s: example %zu: template set %s: %s", ex->source ? ex->source : "?", ex->index, s->name, what);
}

int fv_template_render(const fv_template_set *s, const fv_example *ex, const fv_example *exemplars,
                       size_t k, fv_format fmt, fv_rng *rng, char **inputs, char **targets) {
    *inputs = *targets = NULL;
    if ((unsigned)fmt > 3) return fv_err("template set %s: bad format %d", s->name, (int)fmt);
    size_t cand = fv_template_set_count(s, fmt);
    if (!cand) return ex_err(s, ex, fmt == FV_ZERO_SHOT ? "has no zero_shot template" :
                                    fmt == FV_FEW_SHOT ? "has no few_shot template" :
                                    fmt == FV_COT ? "has no cot template" : "has no cot_few_shot template");
    size_t pick = (size_t)fv_rng_below(rng, cand), ti = 0;
    for (size_t i = 0; i < s->n_t; i++)
        if (s->t[i].f[fmt].inputs && pick-- == 0) { ti = i; break; }
    const form *f = &s->t[ti].f[fmt];
    int style = OPT_DASH;
    if (ex->n_options && s->n_styles) style = s->styles[fv_rng_below(rng, s->n_styles)];
    int fewshot = fmt == FV_FEW_SHOT || fmt == FV_COT_FEW_SHOT;
    const char *sep = "\n\n";
    if (fewshot && s->n_seps) sep = s->seps[fv_rng_below(rng, s->n_seps)];
    fv_sb in = {0}, tg = {0};
    const char *missing = NULL;
    const fv_example *bad = ex;
    int auto_opts = !f->inputs_has_options;
    int rc = 0;
    if (fewshot && f->prefix) rc = expand(&in, f->prefix, ex, style, 0, &missing);
    for (size_t i = 0; fewshot && !rc && i < k; i++) {
        bad = &exemplars[i];
        rc = expand(&in, f->inputs, &exemplars[i], style, auto_opts, &missing);
        if (!rc) {
            fv_sb_adds(&in, s->joiner);
            rc = expand(&in, f->targets, &exemplars[i], style, 0, &missing);
        }
        fv_sb_adds(&in, sep);
    }
    if (!rc) {
        bad = ex;
        rc = expand(&in, f->inputs, ex, style, auto_opts, &missing);
    }
    if (!rc) rc = expand(&tg, f->targets, ex, style, 0, &missing);
    if (!rc && fmt == FV_COT && s->n_triggers && fv_rng_uniform_d(rng) < s->trigger_share) {
        const char *trig = s->triggers[fv_rng_below(rng, s->n_triggers)];
        if (in.n && in.p[in.n - 1] != '\n' && in.p[in.n - 1] != ' ') fv_sb_addc(&in, '\n');
        fv_sb_adds(&in, trig);
    }
    if (rc) {
        fv_sb_free(&in);
        fv_sb_free(&tg);
        char msg[96];
        snprintf(msg, sizeof msg, "%s needs a %s the example lacks", fmt_keys[fmt], missing);
        return ex_err(s, bad, msg);
    }
    *inputs = fv_sb_take(&in);
    *targets = fv_sb_take(&tg);
    if (!*inputs || !*targets) {
        free(*inputs);
        free(*targets);
        *inputs = *targets = NULL;
        return fv_err("template set %s: out of memory", s->name);
    }
    return 0;
}

/* ---- loading ---- */

static int str_list(const char *path, const cJSON *root, const char *key, const char **dst, size_t *n, int required) {
    const cJSON *it = cJSON_GetObjectItemCaseSensitive(root, key);
    *n = 0;
    if (!it) return required ? fv_err("%s: missing \"%s\" (list of strings)", path, key) : 0;
    if (!cJSON_IsArray(it)) return fv_err("%s: \"%s\" is not a list of strings", path, key);
    for (const cJSON *o = it->child; o; o = o->next) {
        if (!cJSON_IsString(o)) return fv_err("%s: \"%s\" holds a non-string", path, key);
        if (*n == MAX_LIST) return fv_err("%s: \"%s\" has more than %d entries", path, key, MAX_LIST);
        dst[(*n)++] = o->valuestring;
    }
    return 0;
}

static int load_form(fv_template_set *s, size_t ti, const cJSON *t, int fi) {
    const cJSON *f = cJSON_GetObjectItemCaseSensitive(t, fmt_keys[fi]);
    if (!f) return 0;
    const cJSON *in = cJSON_GetObjectItemCaseSensitive(f, "inputs");
    const cJSON *tg = cJSON_GetObjectItemCaseSensitive(f, "targets");
    const cJSON *pre = cJSON_GetObjectItemCaseSensitive(f, "prefix");
    if (!cJSON_IsString(in) || !cJSON_IsString(tg) || (pre && !cJSON_IsString(pre)))
        return fv_err("%s: templates[%zu].%s: needs string \"inputs\" and \"targets\" (and optional \"prefix\")",
                      s->path, ti, fmt_keys[fi]);
    form *d = &s->t[ti].f[fi];
    d->inputs = in->valuestring;
    d->targets = tg->valuestring;
    d->prefix = pre ? pre->valuestring : NULL;
    char key[64];
    snprintf(key, sizeof key, "%s.inputs", fmt_keys[fi]);
    FV_TRY(check_pattern(s->path, ti, key, d->inputs, &d->inputs_has_options));
    snprintf(key, sizeof key, "%s.targets", fmt_keys[fi]);
    FV_TRY(check_pattern(s->path, ti, key, d->targets, NULL));
    if (d->prefix) {
        snprintf(key, sizeof key, "%s.prefix", fmt_keys[fi]);
        FV_TRY(check_pattern(s->path, ti, key, d->prefix, NULL));
    }
    return 0;
}

static int parse_set(fv_template_set *s) {
    const char *path = s->path;
    cJSON *root = s->root;
    if (!cJSON_IsObject(root)) return fv_err("%s: not a JSON object", path);
    const cJSON *name = cJSON_GetObjectItemCaseSensitive(root, "name");
    if (!cJSON_IsString(name)) return fv_err("%s: missing string \"name\"", path);
    s->name = name->valuestring;
    FV_TRY(str_list(path, root, "tasks", s->tasks, &s->n_tasks, 1));
    FV_TRY(str_list(path, root, "separators", s->seps, &s->n_seps, 0));
    FV_TRY(str_list(path, root, "cot_triggers", s->triggers, &s->n_triggers, 0));
    const char *styles[MAX_LIST];
    size_t ns;
    FV_TRY(str_list(path, root, "option_styles", styles, &ns, 0));
    if (ns == 0) {
        for (int i = 0; i < OPT_N; i++) s->styles[i] = i;
        s->n_styles = OPT_N;
    }
    for (size_t i = 0; i < ns; i++) {
        int k = -1;
        for (int j = 0; j < OPT_N; j++)
            if (strcmp(styles[i], opt_names[j]) == 0) k = j;
        if (k < 0) return fv_err("%s: unknown option style \"%s\" (dash, OPTIONS, letters, letters_lines)", path, styles[i]);
        if (s->n_styles == OPT_N) return fv_err("%s: too many option styles", path);
        s->styles[s->n_styles++] = k;
    }
    const cJSON *j = cJSON_GetObjectItemCaseSensitive(root, "joiner");
    if (j && !cJSON_IsString(j)) return fv_err("%s: \"joiner\" is not a string", path);
    s->joiner = j ? j->valuestring : " ";
    const cJSON *sh = cJSON_GetObjectItemCaseSensitive(root, "cot_trigger_share");
    if (sh && (!cJSON_IsNumber(sh) || sh->valuedouble < 0 || sh->valuedouble > 1))
        return fv_err("%s: \"cot_trigger_share\" must be a number in [0, 1]", path);
    s->trigger_share = sh ? sh->valuedouble : 0.0;
    const cJSON *ts = cJSON_GetObjectItemCaseSensitive(root, "templates");
    if (!cJSON_IsArray(ts) || cJSON_GetArraySize(ts) == 0) return fv_err("%s: missing \"templates\" (non-empty list)", path);
    s->n_t = (size_t)cJSON_GetArraySize(ts);
    s->t = calloc(s->n_t, sizeof *s->t);
    if (!s->t) return fv_err("%s: out of memory", path);
    size_t ti = 0;
    for (const cJSON *t = ts->child; t; t = t->next, ti++) {
        if (!cJSON_IsObject(t)) return fv_err("%s: templates[%zu] is not an object", path, ti);
        int any = 0;
        for (int fi = 0; fi < 4; fi++) {
            FV_TRY(load_form(s, ti, t, fi));
            any |= s->t[ti].f[fi].inputs != NULL;
        }
        if (!any) return fv_err("%s: templates[%zu] has none of zero_shot, few_shot, cot, cot_few_shot", path, ti);
    }
    return 0;
}

int fv_template_set_load(fv_template_set **out, const char *path) {
    *out = NULL;
    fv_template_set *s = calloc(1, sizeof *s);
    if (!s) return fv_err("%s: out of memory", path);
    snprintf(s->path, sizeof s->path, "%s", path);
    if (fv_json_load(path, &s->root) || parse_set(s)) {
        fv_template_set_free(s);
        return -1;
    }
    *out = s;
    return 0;
}

void fv_template_set_free(fv_template_set *s) {
    if (!s) return;
    cJSON_Delete(s->root);
    free(s->t);
    free(s);
}

const char *fv_template_set_name(const fv_template_set *s) { return s->name; }

size_t fv_template_set_count(const fv_template_set *s, fv_format fmt) {
    size_t n = 0;
    if ((unsigned)fmt > 3) return 0;
    for (size_t i = 0; i < s->n_t; i++) n += s->t[i].f[fmt].inputs != NULL;
    return n;
}

void fv_template_set_trigger_share(fv_template_set *s, double share) {
    s->trigger_share = share < 0 ? 0 : share > 1 ? 1 : share;
}

/* ---- library ---- */

int fv_template_lib_add(fv_template_lib *lib, const char *path) {
    fv_template_set *s;
    FV_TRY(fv_template_set_load(&s, path));
    fv_template_set **n = realloc(lib->sets, (lib->n + 1) * sizeof *n);
    if (!n) {
        fv_template_set_free(s);
        return fv_err("%s: out of memory", path);
    }
    lib->sets = n;
    lib->sets[lib->n++] = s;
    return 0;
}

static int cmp_str(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

int fv_template_lib_load_dir(fv_template_lib **out, const char *dir) {
    *out = NULL;
    DIR *d = opendir(dir);
    if (!d) return fv_err("%s: cannot open template directory", dir);
    char **names = NULL;
    size_t n = 0;
    int rc = 0;
    for (struct dirent *e; (e = readdir(d));) {
        size_t l = strlen(e->d_name);
        if (l < 6 || strcmp(e->d_name + l - 5, ".json") != 0 || e->d_name[0] == '.') continue;
        char **nn = realloc(names, (n + 1) * sizeof *nn);
        if (!nn || !(nn[n] = fv_strdup(e->d_name))) {
            if (nn) names = nn;
            rc = fv_err("%s: out of memory", dir);
            break;
        }
        names = nn;
        n++;
    }
    closedir(d);
    fv_template_lib *lib = calloc(1, sizeof *lib);
    if (!lib && !rc) rc = fv_err("%s: out of memory", dir);
    if (!rc) qsort(names, n, sizeof *names, cmp_str);
    for (size_t i = 0; !rc && i < n; i++) {
        char path[1024];
        if (fv_path_join(path, sizeof path, dir, names[i])) rc = fv_err("%s/%s: path too long", dir, names[i]);
        else rc = fv_template_lib_add(lib, path);
    }
    for (size_t i = 0; i < n; i++) free(names[i]);
    free(names);
    if (rc) {
        fv_template_lib_free(lib);
        return rc;
    }
    *out = lib;
    return 0;
}

fv_template_set *fv_template_lib_find(const fv_template_lib *lib, const char *task) {
    fv_template_set *best = NULL;
    size_t best_len = 0;
    for (size_t i = 0; i < lib->n; i++) {
        fv_template_set *s = lib->sets[i];
        for (size_t j = 0; j < s->n_tasks; j++) {
            const char *p = s->tasks[j];
            size_t l = strlen(p);
            if (strcmp(p, task) == 0) return s;
            if (l && p[l - 1] == '*' && strncmp(p, task, l - 1) == 0 && l > best_len) {
                best = s;
                best_len = l;
            }
        }
    }
    return best;
}

size_t fv_template_lib_size(const fv_template_lib *lib) { return lib->n; }

void fv_template_lib_free(fv_template_lib *lib) {
    if (!lib) return;
    for (size_t i = 0; i < lib->n; i++) fv_template_set_free(lib->sets[i]);
    free(lib->sets);
    free(lib);
}
