/* A JSON checker for the end-to-end tests, so they need no scripting language:
 *   json_check report FILE KEY...   FILE is valid JSON, holds no null anywhere, and has every KEY
 *   json_check lines FILE KEY...    the same for every line of a JSONL file (at least one line)
 *   json_check outputs FILE         every JSONL line's "output" (trimmed) equals its "expect"
 *   json_check mean_loss FILE       prints -sum(logprob) / sum(num_tokens) of flanvk score's output
 * Prints what it found and exits non-zero on a failure. */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char *slurp(const char *path) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *s = malloc((size_t)n + 1);
    if (s && fread(s, 1, (size_t)n, f) != (size_t)n) {
        free(s);
        s = NULL;
    }
    if (s) s[n] = 0;
    fclose(f);
    return s;
}

static int count_nulls(const cJSON *j) {
    if (cJSON_IsNull(j)) return 1;
    int n = 0;
    for (const cJSON *c = j->child; c; c = c->next) n += count_nulls(c);
    return n;
}

static int trim_eq(const char *a, const char *b) {
    while (*a == ' ') a++;
    size_t n = strlen(a);
    while (n && a[n - 1] == ' ') n--;
    return strlen(b) == n && !strncmp(a, b, n);
}

int main(int argc, char **argv) {
    if (argc < 3) {
        fprintf(stderr, "usage: json_check report|lines FILE KEY... | json_check outputs FILE\n");
        return 2;
    }
    char *text = slurp(argv[2]);
    if (!text) {
        printf("%s: cannot read\n", argv[2]);
        return 1;
    }
    int bad = 0;
    if (!strcmp(argv[1], "lines")) {
        int n = 0;
        for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
            cJSON *j = cJSON_Parse(line);
            n++;
            if (!cJSON_IsObject(j)) printf("%s:%d: not a JSON object\n", argv[2], n), bad = 1;
            else if (count_nulls(j)) printf("%s:%d: null values\n", argv[2], n), bad = 1;
            for (int i = 3; j && i < argc; i++)
                if (!cJSON_GetObjectItemCaseSensitive(j, argv[i])) printf("%s:%d: no key '%s'\n", argv[2], n, argv[i]), bad = 1;
            cJSON_Delete(j);
        }
        if (!n) printf("%s: no lines\n", argv[2]), bad = 1;
        if (!bad) printf("%s: %d JSON lines, no nulls, %d keys present in each\n", argv[2], n, argc - 3);
    } else if (!strcmp(argv[1], "report")) {
        cJSON *j = cJSON_Parse(text);
        if (!j) {
            printf("%s: not valid JSON\n", argv[2]);
            return 1;
        }
        int nulls = count_nulls(j);
        if (nulls) printf("%s: %d null values\n", argv[2], nulls), bad = 1;
        for (int i = 3; i < argc; i++)
            if (!cJSON_GetObjectItemCaseSensitive(j, argv[i])) printf("%s: no key '%s'\n", argv[2], argv[i]), bad = 1;
        if (!bad) printf("%s: valid JSON, no nulls, %d keys present\n", argv[2], argc - 3);
        cJSON_Delete(j);
    } else if (!strcmp(argv[1], "mean_loss")) {
        double lp = 0, tokens = 0;
        for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
            cJSON *j = cJSON_Parse(line);
            const cJSON *l = cJSON_GetObjectItemCaseSensitive(j, "logprob"), *t = cJSON_GetObjectItemCaseSensitive(j, "num_tokens");
            if (cJSON_IsNumber(l) && cJSON_IsNumber(t)) lp += l->valuedouble, tokens += t->valuedouble;
            else bad = 1;
            cJSON_Delete(j);
        }
        if (bad || !tokens) {
            printf("%s: lines without logprob / num_tokens\n", argv[2]);
            bad = 1;
        } else {
            printf("%.12g\n", -lp / tokens);
        }
    } else {
        int n = 0, ok = 0;
        for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
            cJSON *j = cJSON_Parse(line);
            const cJSON *out = cJSON_GetObjectItemCaseSensitive(j, "output"), *exp = cJSON_GetObjectItemCaseSensitive(j, "expect");
            n++;
            if (cJSON_IsString(out) && cJSON_IsString(exp) && trim_eq(out->valuestring, exp->valuestring)) ok++;
            else printf("line %d: expected '%s', got '%s'\n", n, cJSON_IsString(exp) ? exp->valuestring : "?",
                        cJSON_IsString(out) ? out->valuestring : "?");
            cJSON_Delete(j);
        }
        printf("%d of %d outputs right\n", ok, n);
        bad = !n || ok != n;
    }
    free(text);
    return bad;
}
