// vec4 element-wise I/O for the fast paths of the elementwise kernels (opt_adamw, dropout, gelu...).
// Built with -DTEXEL, read-only inputs are RGBA32F uniform texel buffers: on lavapipe one
// texelFetch is one 8-lane gather of 16 bytes per lane, while an indexed storage-buffer load is a
// per-lane scalar loop. Without TEXEL they are std430 vec4 arrays (GPUs: 16-byte coalesced loads).
// Outputs are always std430 vec4 arrays. Every index here counts vec4s, so the host only takes
// this path when offsets and lengths are multiples of 4 elements.
//   FV_IN4(b, x)    declares read-only input x at binding b;   FV_LD4(x, i)   reads vec4 i.
#ifdef TEXEL
#define FV_IN4(b, name) layout(binding = b) uniform samplerBuffer name;
#define FV_LD4(name, i) texelFetch(name, int(i))
#else
#define FV_IN4(b, name) layout(std430, binding = b) readonly buffer name##_buf4 { vec4 name[]; };
#define FV_LD4(name, i) name[i]
#endif
