/* Directory listing for the suite builders; see listdir.h. */
#define _DEFAULT_SOURCE
#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "eval/listdir.h"

static int cmp(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

int fv_eval_list_dir(const char *dir, const char *suffix, char ***names, size_t *n) {
    *names = NULL;
    *n = 0;
    DIR *d = opendir(dir);
    if (!d) return fv_err("%s: cannot open directory: %s", dir, strerror(errno));
    size_t cap = 0, ls = strlen(suffix);
    char **v = NULL;
    int rc = 0;
    for (struct dirent *e; !rc && (e = readdir(d));) {
        size_t l = strlen(e->d_name);
        if (l <= ls || e->d_name[0] == '.' || strcmp(e->d_name + l - ls, suffix) != 0) continue;
        if (*n == cap) {
            cap = cap ? 2 * cap : 32;
            char **t = realloc(v, cap * sizeof *t);
            if (!t) {
                rc = fv_err("out of host memory");
                break;
            }
            v = t;
        }
        v[*n] = malloc(l - ls + 1);
        if (!v[*n]) {
            rc = fv_err("out of host memory");
            break;
        }
        memcpy(v[*n], e->d_name, l - ls);
        v[*n][l - ls] = 0;
        (*n)++;
    }
    closedir(d);
    if (rc) {
        fv_eval_names_free(v, *n);
        *n = 0;
        return rc;
    }
    if (*n) qsort(v, *n, sizeof *v, cmp);
    *names = v;
    return 0;
}

void fv_eval_names_free(char **names, size_t n) {
    for (size_t i = 0; i < n; i++) free(names[i]);
    free(names);
}
