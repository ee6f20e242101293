// Read-only inputs that are either storage buffers or uniform texel buffers, chosen per variant:
// built with -DTEXEL (see NAME.variants), inputs are R32F texel buffers, because on lavapipe a
// texelFetch compiles to one vector gather while an indexed storage-buffer load in a loop becomes
// a per-lane scalar loop with bounds checks; discrete GPUs use the storage-buffer variant.
//   FV_INPUT(0, x)   declares input `x` at binding 0;   FV_LD(x, i)   reads element i as float.
#ifdef TEXEL
#define FV_INPUT(b, name) layout(binding = b) uniform samplerBuffer name;
#define FV_LD(name, i) texelFetch(name, int(i)).x
#else
#define FV_INPUT(b, name) layout(std430, binding = b) readonly buffer name##_buf { float name[]; };
#define FV_LD(name, i) name[i]
#endif
