/* Atomic training checkpoints; see checkpoint.h. */
#define _GNU_SOURCE
#include "train/checkpoint.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/file.h"
#include "io/safetensors.h"
#include "io/peft.h"
#include "io/t5_config.h"

#define STATE_FILE "training_state.safetensors"

/* ---- state tensors ------------------------------------------------------------------------- */

typedef struct {
    fv_dev *d;
    fv_st_out *outs;
    int64_t *shapes;
    float **data;
    size_t n, cap;
} collect;

static int grow(collect *c) {
    if (c->n < c->cap) return 0;
    size_t nc = c->cap ? 2 * c->cap : 256;
    fv_st_out *o = realloc(c->outs, nc * sizeof *o);
    if (o) c->outs = o;
    int64_t *s = realloc(c->shapes, nc * sizeof *s);
    if (s) c->shapes = s;
    float **d = realloc(c->data, nc * sizeof *d);
    if (d) c->data = d;
    if (!o || !s || !d) return fv_err("out of host memory");
    c->cap = nc;
    return 0;
}

static int add_tensor(collect *c, const char *name, const float *src, uint32_t n) {
    FV_TRY(grow(c));
    float *copy = malloc((n ? n : 1) * sizeof *copy);
    char *nm = strdup(name);
    if (!copy || !nm) {
        free(copy);
        free(nm);
        return fv_err("out of host memory");
    }
    if (n) memcpy(copy, src, n * sizeof *copy);
    c->data[c->n] = copy;
    c->shapes[c->n] = n;
    c->outs[c->n] = (fv_st_out){nm, 1, NULL, copy, FV_DT_F32, FV_DT_F32};
    c->n++;
    return 0;
}

static int collect_state(void *user, const char *name, fv_buf *buf, uint32_t off, uint32_t n, const fv_rowsplit *split) {
    collect *c = user;
    float *tmp = malloc((n ? n : 1) * sizeof *tmp);
    if (!tmp) return fv_err("out of host memory");
    int rc = split ? fv_rowsplit_read(c->d, split, 0, tmp, n) : fv_buf_read(c->d, buf, (uint64_t)off * 4, tmp, (uint64_t)n * 4);
    if (!rc) rc = add_tensor(c, name, tmp, n);
    free(tmp);
    return rc;
}

static void collect_free(collect *c) {
    for (size_t i = 0; i < c->n; i++) {
        free((char *)c->outs[i].name);
        free(c->data[i]);
    }
    free(c->outs);
    free(c->shapes);
    free(c->data);
}

static int write_state(const char *path, fv_optimizer *o, const fv_train_state *st, const fv_train_history *h,
                       fv_dev *d) {
    collect c = {.d = d};
    int rc = fv_optimizer_each_state(o, collect_state, &c);
    if (!rc) rc = add_tensor(&c, "loss_history", h->loss, h->nloss);
    if (!rc && h->neval) rc = add_tensor(&c, "eval_history", h->eval, 2 * h->neval);
    for (size_t i = 0; i < c.n; i++) c.outs[i].shape = &c.shapes[i];
    char step[32], pos[32], skipped[32], rng[4][24];
    snprintf(step, sizeof step, "%u", st->step);
    snprintf(pos, sizeof pos, "%" PRIu64, st->data_pos);
    snprintf(skipped, sizeof skipped, "%u", st->skipped);
    for (int i = 0; i < 4; i++) snprintf(rng[i], sizeof rng[i], "%016" PRIx64, st->rng.s[i]);
    char rngs[100];
    snprintf(rngs, sizeof rngs, "%s%s%s%s", rng[0], rng[1], rng[2], rng[3]);
    /* %.17g: the best eval loss comes back bit for bit, so a resumed run compares as the first would */
    char best[40], best_step[16], since[16];
    snprintf(best, sizeof best, "%.17g", st->best_step ? st->best_eval : 0.0);
    snprintf(best_step, sizeof best_step, "%u", st->best_step);
    snprintf(since, sizeof since, "%u", st->since_best);
    const char *meta[] = {"flanvk_step", step, "flanvk_data_pos", pos, "flanvk_rng", rngs, "flanvk_skipped", skipped,
                          "flanvk_optimizer", fv_optimizer_name(o), "flanvk_best_eval_loss", best,
                          "flanvk_best_eval_step", best_step, "flanvk_evals_since_best", since, NULL};
    if (!rc) rc = fv_st_write(path, c.outs, c.n, meta);
    collect_free(&c);
    return rc;
}

/* ---- directory handling -------------------------------------------------------------------- */

static int copy_file(const char *from, const char *to) {
    char *data;
    size_t n;
    FV_TRY(fv_read_file(from, &data, &n));
    fv_awrite w;
    int rc = fv_awrite_open(&w, to);
    if (!rc) {
        if ((rc = fv_awrite_put(&w, data, n))) {
            fv_awrite_abort(&w);
        } else {
            rc = fv_awrite_commit(&w);
        }
    }
    free(data);
    return rc;
}

static int write_png(const char *path, const void *png, size_t n) {
    fv_awrite w;
    FV_TRY(fv_awrite_open(&w, path));
    if (fv_awrite_put(&w, png, n)) {
        fv_awrite_abort(&w);
        return -1;
    }
    return fv_awrite_commit(&w);
}

static int fill_dir(const char *dir, const fv_t5 *m, const fv_t5_lora_train *lora, fv_optimizer *o,
                    const fv_train_state *st, const char *tokdir, const fv_train_history *hist, const void *png,
                    size_t png_size) {
    char path[1024], from[1024];
    FV_TRY(fv_path_join(path, sizeof path, dir, "config.json"));
    if (!lora) FV_TRY(fv_t5_config_save(&m->cfg, path)); /* an adapter directory holds no model */
    for (int i = 0; tokdir && i < 2; i++) {
        const char *name = i ? "tokenizer.json" : "spiece.model";
        FV_TRY(fv_path_join(from, sizeof from, tokdir, name));
        if (!fv_file_exists(from)) continue;
        FV_TRY(fv_path_join(path, sizeof path, dir, name));
        FV_TRY(copy_file(from, path));
    }
    if (png) {
        FV_TRY(fv_path_join(path, sizeof path, dir, "loss.png"));
        FV_TRY(write_png(path, png, png_size));
    }
    FV_TRY(fv_path_join(path, sizeof path, dir, STATE_FILE));
    FV_TRY(write_state(path, o, st, hist, m->d));
    char step[32];
    snprintf(step, sizeof step, "%u", st->step);
    const char *meta[] = {"flanvk_step", step, NULL};
    return lora ? fv_t5_lora_train_save(lora, dir) : fv_t5_save_weights_meta(m, dir, meta);
}

static const char *const OURS[] = {STATE_FILE, "config.json", "spiece.model", "tokenizer.json", "loss.png",
                                   FV_PEFT_WEIGHTS_FILE, FV_PEFT_CONFIG_FILE, "model.safetensors"};

static int ours(const char *name) {
    for (size_t i = 0; i < sizeof OURS / sizeof OURS[0]; i++)
        if (!strcmp(name, OURS[i])) return 1;
    return 0;
}

/* A temporary of one of our files ("model.safetensors.tmp.<pid>", fv_awrite's name): what a save
 * killed mid-file leaves in its staging directory. A file of the user's is never taken for one. */
static int our_temp(const char *name) {
    for (size_t i = 0; i < sizeof OURS / sizeof OURS[0]; i++) {
        size_t n = strlen(OURS[i]);
        if (strncmp(name, OURS[i], n) || strncmp(name + n, ".tmp.", 5)) continue;
        const char *d = name + n + 5;
        if (*d && strspn(d, "0123456789") == strlen(d)) return 1;
    }
    return 0;
}

/* Each subdirectory of target (OUT/best) gets a twin in staging whose files are hard links to its
 * own, and each file of target that is not ours (the user's: a --log CSV kept in OUT, notes) a
 * hard link: after the swap they are there whole, with no window in which they are missing, so a
 * kill between the swap and the move-back loses none. A file system without hard links leaves
 * them to the move-back after the swap. */
static void link_extras(const char *target, const char *staging) {
    DIR *dd = opendir(target);
    struct dirent *e;
    char a[2400], b[2400], fa[3000], fb[3000];
    while (dd && (e = readdir(dd))) {
        if (e->d_name[0] == '.' || strstr(e->d_name, ".staging-") || our_temp(e->d_name)) continue; /* a killed save's leftovers */
        struct stat sb;
        snprintf(a, sizeof a, "%s/%s", target, e->d_name);
        snprintf(b, sizeof b, "%s/%s", staging, e->d_name);
        if (lstat(a, &sb) != 0) continue;
        if (S_ISREG(sb.st_mode)) {
            if (!ours(e->d_name)) (void)link(a, b);
            continue;
        }
        if (!S_ISDIR(sb.st_mode)) continue;
        if (mkdir(b, 0755) != 0) continue;
        DIR *sd = opendir(a);
        struct dirent *f;
        int ok = sd != NULL;
        while (ok && (f = readdir(sd))) {
            if (!strcmp(f->d_name, ".") || !strcmp(f->d_name, "..")) continue;
            snprintf(fa, sizeof fa, "%s/%s", a, f->d_name);
            snprintf(fb, sizeof fb, "%s/%s", b, f->d_name);
            if (link(fa, fb) != 0) ok = 0;
        }
        if (sd) closedir(sd);
        if (!ok) fv_rmdir_files(b);
    }
    if (dd) closedir(dd);
}

/* Remove a checkpoint directory and its subdirectories (one level: OUT/best holds only files). */
static void drop_dir(const char *dir) {
    DIR *dd = opendir(dir);
    struct dirent *e;
    char p[2400];
    struct stat sb;
    while (dd && (e = readdir(dd))) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
        snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
        if (lstat(p, &sb) == 0 && S_ISDIR(sb.st_mode)) fv_rmdir_files(p);
    }
    if (dd) closedir(dd);
    fv_rmdir_files(dir);
}

/* Entries of from (a swapped-out old checkpoint) that target lacks go back into target: the
 * user's files that were beside ours, where no hard link carried them. Temporaries of a killed
 * writer stay behind, to be dropped with from. */
static void move_back(const char *from, const char *target) {
    DIR *dd = opendir(from);
    struct dirent *e;
    char a[2400], b[2400];
    while (dd && (e = readdir(dd))) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..") || our_temp(e->d_name)) continue;
        snprintf(b, sizeof b, "%s/%s", target, e->d_name);
        if (fv_file_exists(b)) continue;
        snprintf(a, sizeof a, "%s/%s", from, e->d_name);
        if (rename(a, b) != 0) fprintf(stderr, "flanvk: warning: could not keep %s: %s\n", a, strerror(errno));
    }
    if (dd) closedir(dd);
}

/* The staging directories of saves killed before they finished ("<target>.staging-<pid>", the
 * process gone): killed while filling, one holds a part of a new checkpoint (the target is the
 * old one, whole); killed after the swap, it holds the old checkpoint and maybe files of the
 * user's not yet moved back. Either way: move back what the target lacks, drop the rest, so
 * repeated kills do not pile up copies of the model. */
static void settle_stale(const char *target) {
    char parent[1024];
    const char *slash = strrchr(target, '/'), *base = slash ? slash + 1 : target;
    if (!slash) snprintf(parent, sizeof parent, ".");
    else snprintf(parent, sizeof parent, "%.*s", slash == target ? 1 : (int)(slash - target), target);
    DIR *dd = opendir(parent);
    struct dirent *e;
    size_t bl = strlen(base);
    static const char SUF[] = ".staging-";
    char p[2400];
    struct stat sb;
    int target_dir = stat(target, &sb) == 0 && S_ISDIR(sb.st_mode);
    while (dd && (e = readdir(dd))) {
        if (strncmp(e->d_name, base, bl) || strncmp(e->d_name + bl, SUF, sizeof SUF - 1)) continue;
        const char *digits = e->d_name + bl + sizeof SUF - 1;
        char *end;
        long pid = strtol(digits, &end, 10);
        if (!*digits || *end || pid <= 0 || pid == (long)getpid() || kill((pid_t)pid, 0) == 0 || errno != ESRCH) continue;
        snprintf(p, sizeof p, "%s/%s", parent, e->d_name);
        if (target_dir) move_back(p, target);
        drop_dir(p);
    }
    if (dd) closedir(dd);
}

int fv_checkpoint_save(const char *dir, const fv_t5 *m, const fv_t5_lora_train *lora, fv_optimizer *o,
                       const fv_train_state *st, const char *tokenizer_dir, const fv_train_history *hist, const void *png,
                       size_t png_size) {
    char staging[1024];
    size_t len = strlen(dir);
    while (len > 1 && dir[len - 1] == '/') len--;
    if (len + 32 >= sizeof staging) return fv_err("%s: path too long", dir);
    snprintf(staging, sizeof staging, "%.*s.staging-%ld", (int)len, dir, (long)getpid());
    char target[1024];
    snprintf(target, sizeof target, "%.*s", (int)len, dir);
    settle_stale(target);
    drop_dir(staging);
    FV_TRY(fv_mkdirs(staging));
    int rc = fill_dir(staging, m, lora, o, st, tokenizer_dir, hist, png, png_size);
    if (rc) {
        fv_rmdir_files(staging);
        return fv_err_wrap("saving checkpoint %s", dir);
    }
    struct stat sb;
    if (stat(target, &sb) != 0) { /* first save: the staging directory simply becomes the target */
        if (rename(staging, target) != 0) rc = fv_err("%s: cannot rename into place: %s", target, strerror(errno));
        if (rc) fv_rmdir_files(staging);
        else fv_fsync_parent(target);
        return rc;
    }
    if (!S_ISDIR(sb.st_mode)) {
        fv_rmdir_files(staging);
        return fv_err("%s: exists and is not a directory", target);
    }
    link_extras(target, staging);
    if (renameat2(AT_FDCWD, staging, AT_FDCWD, target, RENAME_EXCHANGE) == 0) {
        fv_fsync_parent(target);
        /* the old checkpoint now sits in staging, with any files of the user's that were beside
         * ours and could not be linked: move those back before dropping it */
        move_back(staging, target);
        drop_dir(staging);
        return 0;
    }
    /* No exchange on this file system: rename file by file, the training state first and the model
     * last; each file is whole at every moment. */
    for (size_t i = 0; !rc && i < sizeof OURS / sizeof OURS[0]; i++) {
        char a[2400], b[2400];
        snprintf(a, sizeof a, "%s/%s", staging, OURS[i]);
        snprintf(b, sizeof b, "%s/%s", target, OURS[i]);
        if (fv_file_exists(a) && rename(a, b) != 0) rc = fv_err("%s: cannot rename into place: %s", b, strerror(errno));
    }
    drop_dir(staging);
    if (!rc) fv_fsync_dir(target);
    return rc;
}

int fv_checkpoint_copy(const char *from, const char *to) {
    char staging[1100];
    snprintf(staging, sizeof staging, "%s.staging-%ld", to, (long)getpid());
    settle_stale(to);
    fv_rmdir_files(staging);
    FV_TRY(fv_mkdirs(staging));
    DIR *dd = opendir(from);
    struct dirent *e;
    struct stat sb;
    char a[2400], b[2400];
    int rc = dd ? 0 : fv_err("%s: cannot open the directory", from);
    while (!rc && (e = readdir(dd))) {
        snprintf(a, sizeof a, "%s/%s", from, e->d_name);
        if (stat(a, &sb) != 0 || !S_ISREG(sb.st_mode)) continue;
        snprintf(b, sizeof b, "%s/%s", staging, e->d_name);
        rc = copy_file(a, b);
    }
    if (dd) closedir(dd);
    if (!rc && rename(staging, to) != 0) rc = fv_err("%s: cannot rename into place: %s", to, strerror(errno));
    if (rc) fv_rmdir_files(staging);
    else fv_fsync_parent(to);
    return rc;
}

/* ---- resume ------------------------------------------------------------------------------------ */

typedef struct {
    const fv_safetensors *st;
    fv_dev *d;
} restore;

static int restore_state(void *user, const char *name, fv_buf *buf, uint32_t off, uint32_t n, const fv_rowsplit *split) {
    restore *r = user;
    const fv_st_tensor *t = fv_st_find(r->st, name);
    if (!t) return fv_err("%s: optimizer state '%s' is missing (was the checkpoint saved with another optimizer?)",
                          fv_st_path(r->st), name);
    if (t->numel != n) return fv_err("%s: optimizer state '%s' has %" PRIu64 " values, expected %u", fv_st_path(r->st), name, t->numel, n);
    float *tmp = malloc((n ? n : 1) * sizeof *tmp);
    if (!tmp) return fv_err("out of host memory");
    int rc = fv_st_tensor_f32(r->st, t, tmp);
    if (!rc) rc = split ? fv_rowsplit_write(r->d, split, 0, tmp, n) : fv_buf_write(r->d, buf, (uint64_t)off * 4, tmp, (uint64_t)n * 4);
    free(tmp);
    return rc;
}

int fv_checkpoint_load_state(const char *dir, fv_optimizer *o, fv_train_state *st, fv_train_history *hist) {
    char path[1024];
    memset(hist, 0, sizeof *hist);
    FV_TRY(fv_path_join(path, sizeof path, dir, STATE_FILE));
    if (!fv_file_exists(path)) return fv_err("%s: no training state to resume from (not a flanvk checkpoint)", dir);
    fv_safetensors *sf;
    FV_TRY(fv_st_open(&sf, path));
    int rc = fv_train_state_read(sf, fv_optimizer_name(o), st, hist);
    /* the model's step stamp (absent in checkpoints from before it): on a file system without
     * rename exchange a kill between the file-by-file renames leaves the new state beside the
     * old model, which must not resume as if they belonged together */
    char mpath[1024];
    fv_safetensors *msf = NULL;
    if (!rc && !fv_path_join(mpath, sizeof mpath, dir, "model.safetensors") && fv_file_exists(mpath) &&
        !(rc = fv_st_open(&msf, mpath))) {
        const char *ms = fv_st_meta(msf, "flanvk_step");
        if (ms && strtoull(ms, NULL, 10) != st->step)
            rc = fv_err("%s: the model is from step %s, the training state (%s) from step %u"
                        ": a save was interrupted; resume from another checkpoint", dir, ms, STATE_FILE, st->step);
        fv_st_close(msf);
    }
    restore r = {sf, fv_optimizer_dev(o)};
    if (!rc) rc = fv_optimizer_each_state(o, restore_state, &r);
    if (rc) fv_train_history_free(hist);
    fv_st_close(sf);
    return rc;
}
