/* tokenizer.json -> fv_spm_spec (see tokenizer_json.h). */
#include "io/tokenizer_json.h"

#include "base/error.h"
#include "base/file.h"

#include <cjson/cJSON.h>
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static int b64_val(unsigned char c) {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == '/') return 63;
    return -1;
}

int fv_base64_decode(const char *s, size_t n, unsigned char **out, size_t *out_len) {
    while (n && s[n - 1] == '=') n--;
    if (n % 4 == 1) return fv_err("base64: bad length %zu", n);
    unsigned char *o = malloc(n / 4 * 3 + 3);
    if (!o) return fv_err("base64: out of memory");
    size_t k = 0;
    uint32_t acc = 0;
    int bits = 0;
    for (size_t i = 0; i < n; i++) {
        int v = b64_val((unsigned char)s[i]);
        if (v < 0) {
            free(o);
            return fv_err("base64: bad character at offset %zu", i);
        }
        acc = acc << 6 | (uint32_t)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            o[k++] = (unsigned char)(acc >> bits);
        }
    }
    *out = o;
    *out_len = k;
    return 0;
}

static const char *jstr(const cJSON *o, const char *key) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* Walk a normalizer (maybe a Sequence) for the charsmap and the whitespace rules. */
static int scan_normalizer(const cJSON *n, const char *name, fv_spm_spec *s, int depth) {
    if (!cJSON_IsObject(n) || depth > 8) return 0;
    const char *type = jstr(n, "type");
    if (!type) return fv_err("%s: normalizer without a \"type\"", name);
    if (!strcmp(type, "Sequence")) {
        const cJSON *arr = cJSON_GetObjectItemCaseSensitive(n, "normalizers"), *it;
        cJSON_ArrayForEach(it, arr) FV_TRY(scan_normalizer(it, name, s, depth + 1));
    } else if (!strcmp(type, "Precompiled")) {
        const char *b64 = jstr(n, "precompiled_charsmap");
        if (!b64) return fv_err("%s: Precompiled normalizer has no precompiled_charsmap string", name);
        free(s->charsmap);
        s->charsmap = NULL;
        if (fv_base64_decode(b64, strlen(b64), &s->charsmap, &s->charsmap_len)) return fv_err_wrap("%s: precompiled_charsmap", name);
    } else if (!strcmp(type, "Strip")) {
        s->remove_extra_whitespaces = 1;
    } else if (!strcmp(type, "Replace")) {
        const cJSON *pat = cJSON_GetObjectItemCaseSensitive(n, "pattern");
        const char *re = pat ? jstr(pat, "Regex") : NULL;
        if (re && !strcmp(re, " {2,}")) s->remove_extra_whitespaces = 1;
    } else {
        return fv_err("%s: unsupported normalizer type '%s'", name, type);
    }
    return 0;
}

static int scan_pretokenizer(const cJSON *p, const char *name, fv_spm_spec *s, int depth) {
    if (!cJSON_IsObject(p) || depth > 8) return 0;
    const char *type = jstr(p, "type");
    if (!type) return fv_err("%s: pre_tokenizer without a \"type\"", name);
    if (!strcmp(type, "Sequence")) {
        const cJSON *arr = cJSON_GetObjectItemCaseSensitive(p, "pretokenizers"), *it;
        cJSON_ArrayForEach(it, arr) FV_TRY(scan_pretokenizer(it, name, s, depth + 1));
    } else if (!strcmp(type, "Metaspace")) {
        const char *rep = jstr(p, "replacement");
        if (rep && strcmp(rep, "\xE2\x96\x81")) return fv_err("%s: Metaspace replacement '%s' is not U+2581", name, rep);
        s->escape_whitespaces = 1;
        const char *scheme = jstr(p, "prepend_scheme");
        const cJSON *aps = cJSON_GetObjectItemCaseSensitive(p, "add_prefix_space");
        if (scheme) s->add_dummy_prefix = strcmp(scheme, "never") != 0;
        else if (cJSON_IsBool(aps)) s->add_dummy_prefix = cJSON_IsTrue(aps);
        else s->add_dummy_prefix = 1;
    } else if (strcmp(type, "WhitespaceSplit") != 0) {
        return fv_err("%s: unsupported pre_tokenizer type '%s'", name, type);
    }
    return 0;
}

int fv_tokenizer_json_parse(const char *json, size_t len, const char *name, fv_spm_spec *s) {
    fv_spm_spec_init(s);
    s->add_dummy_prefix = s->remove_extra_whitespaces = s->escape_whitespaces = 0;
    s->bos_id = s->eos_id = s->pad_id = -1;
    cJSON *root = cJSON_ParseWithLength(json, len);
    if (!root) return fv_err("%s: not valid JSON (near byte %zu)", name, (size_t)(cJSON_GetErrorPtr() ? cJSON_GetErrorPtr() - json : 0));
    int rc = 0;
    const cJSON *model = cJSON_GetObjectItemCaseSensitive(root, "model");
    const char *type = model ? jstr(model, "type") : NULL;
    const cJSON *vocab = model ? cJSON_GetObjectItemCaseSensitive(model, "vocab") : NULL;
    const cJSON *unk = model ? cJSON_GetObjectItemCaseSensitive(model, "unk_id") : NULL;
    if (!cJSON_IsObject(root) || !model) rc = fv_err("%s: no \"model\" object; not a Hugging Face tokenizer.json", name);
    else if (!type || strcmp(type, "Unigram")) rc = fv_err("%s: tokenizer model type is '%s', expected 'Unigram'", name, type ? type : "(none)");
    else if (!cJSON_IsArray(vocab) || cJSON_GetArraySize(vocab) == 0) rc = fv_err("%s: model.vocab is not a non-empty array", name);
    else if (!cJSON_IsNumber(unk)) rc = fv_err("%s: model.unk_id is missing", name);
    const cJSON *it;
    uint32_t idx = 0;
    if (!rc) {
        cJSON_ArrayForEach(it, vocab) {
            const cJSON *p = cJSON_GetArrayItem(it, 0), *sc = cJSON_GetArrayItem(it, 1);
            if (!cJSON_IsArray(it) || !cJSON_IsString(p) || !cJSON_IsNumber(sc) || !p->valuestring[0] ||
                !(fabs(sc->valuedouble) <= FLT_MAX)) { /* a score must be a finite float */
                rc = fv_err("%s: model.vocab[%u] is not a [piece, score] pair", name, idx);
                break;
            }
            if ((rc = fv_spm_spec_add_piece(s, p->valuestring, strlen(p->valuestring), (float)sc->valuedouble, FV_PIECE_NORMAL))) break;
            idx++;
        }
    }
    if (!rc) {
        s->unk_id = unk->valueint;
        if (s->unk_id < 0 || (uint32_t)s->unk_id >= s->n_pieces) rc = fv_err("%s: model.unk_id %d is out of range", name, s->unk_id);
        else s->pieces[s->unk_id].type = FV_PIECE_UNKNOWN;
        const cJSON *bf = cJSON_GetObjectItemCaseSensitive(model, "byte_fallback");
        s->byte_fallback = cJSON_IsTrue(bf);
    }
    idx = 0;
    if (!rc) {
        cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(root, "added_tokens")) {
            const cJSON *id = cJSON_GetObjectItemCaseSensitive(it, "id");
            const char *content = jstr(it, "content");
            if (!cJSON_IsNumber(id) || !content) {
                rc = fv_err("%s: added_tokens[%u] has no id or content", name, idx);
                break;
            }
            int i = id->valueint;
            if (i < 0 || (uint32_t)i >= s->n_pieces || strcmp(s->pieces[i].text, content)) {
                rc = fv_err("%s: added token '%s' (id %d) does not match the vocabulary", name, content, i);
                break;
            }
            if (i != s->unk_id) s->pieces[i].type = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(it, "special")) ? FV_PIECE_CONTROL : FV_PIECE_USER_DEFINED;
            if (!strcmp(content, "</s>")) s->eos_id = i;
            else if (!strcmp(content, "<pad>")) s->pad_id = i;
            else if (!strcmp(content, "<s>")) s->bos_id = i;
            idx++;
        }
    }
    if (!rc) rc = scan_normalizer(cJSON_GetObjectItemCaseSensitive(root, "normalizer"), name, s, 0);
    if (!rc) rc = scan_pretokenizer(cJSON_GetObjectItemCaseSensitive(root, "pre_tokenizer"), name, s, 0);
    cJSON_Delete(root);
    if (rc) fv_spm_spec_free(s);
    return rc;
}

int fv_tokenizer_json_load(const char *path, fv_spm_spec *out) {
    char *buf;
    size_t n;
    fv_spm_spec_init(out);
    FV_TRY(fv_read_file(path, &buf, &n));
    int rc = fv_tokenizer_json_parse(buf, n, path, out);
    free(buf);
    return rc;
}
