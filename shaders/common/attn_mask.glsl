// Shared by the attention kernels: which (b, h, i) a score row is, and whether key j is visible.
// Rows are [B, H, Tq] in that order (the batched GEMM writes S as [B, H, Tq, Tk]).
// flags: bit 0 causal (j <= i), bit 1 pad-mask only (ignore seg_q), bit 2 add the position bias.
const uint ATTN_CAUSAL = 1u, ATTN_PAD_ONLY = 2u, ATTN_BIAS = 4u;

// Key j of batch b is visible to query i (segment id sq): T5 packed/padded masking.
bool attn_visible(int sk, int sq, uint i, uint j, uint flags) {
    if (sk == 0) return false;
    if ((flags & ATTN_PAD_ONLY) == 0u && sk != sq) return false;
    if ((flags & ATTN_CAUSAL) != 0u && j > i) return false;
    return true;
}
