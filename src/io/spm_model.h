/* SentencePiece vocabulary description ("spec") and the spiece.model reader.
 * spiece.model is a serialized sentencepiece.ModelProto protobuf; it is parsed by hand here (no
 * protobuf dependency): the pieces with scores and types, the trainer spec (model type, special
 * ids) and the normalizer spec (precompiled_charsmap and the whitespace flags). tokenizer_json.c
 * fills the same fv_spm_spec from a Hugging Face tokenizer.json, so the tokenizer has one input. */
#ifndef FV_IO_SPM_MODEL_H
#define FV_IO_SPM_MODEL_H

#include <stddef.h>
#include <stdint.h>

/* ModelProto.SentencePiece.Type values. */
enum {
    FV_PIECE_NORMAL = 1,
    FV_PIECE_UNKNOWN = 2,
    FV_PIECE_CONTROL = 3,
    FV_PIECE_USER_DEFINED = 4,
    FV_PIECE_UNUSED = 5,
    FV_PIECE_BYTE = 6,
};

/* TrainerSpec.ModelType values. */
enum { FV_SPM_UNIGRAM = 1, FV_SPM_BPE = 2, FV_SPM_WORD = 3, FV_SPM_CHAR = 4 };

typedef struct {
    char *text;   /* NUL-terminated UTF-8, owned */
    uint32_t len; /* bytes */
    float score;
    int type;     /* FV_PIECE_* */
} fv_spm_piece;

typedef struct {
    fv_spm_piece *pieces;
    uint32_t n_pieces, cap_pieces;
    unsigned char *charsmap; /* precompiled_charsmap blob (NULL: identity normalization) */
    size_t charsmap_len;
    int add_dummy_prefix, remove_extra_whitespaces, escape_whitespaces;
    int treat_whitespace_as_suffix, byte_fallback;
    int model_type;                      /* FV_SPM_* */
    int unk_id, bos_id, eos_id, pad_id;  /* -1: none */
    char unk_surface[32];                /* what decode prints for <unk> */
} fv_spm_spec;

/* Defaults of an empty ModelProto (SentencePiece's proto defaults). */
void fv_spm_spec_init(fv_spm_spec *s);
void fv_spm_spec_free(fv_spm_spec *s);
/* Append one piece (copies text). */
int fv_spm_spec_add_piece(fv_spm_spec *s, const char *text, size_t len, float score, int type);

/* Parse a serialized ModelProto; name is used in error messages. */
int fv_spm_model_parse(const unsigned char *data, size_t size, const char *name, fv_spm_spec *out);
/* Read and parse spiece.model. */
int fv_spm_model_load(const char *path, fv_spm_spec *out);

#endif
