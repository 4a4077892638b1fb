#ifndef LSTORE_CZLIB_SHIM_H
#define LSTORE_CZLIB_SHIM_H
#include <zlib.h>

// deflateInit2 and inflateInit2 are macros; Swift can only call functions.
// windowBits 31 = 15 + 16: gzip framing, which `gzip -t` accepts.
static inline int lstore_deflate_init_gzip(z_streamp stream, int level) {
  return deflateInit2(stream, level, Z_DEFLATED, 31, 8, Z_DEFAULT_STRATEGY);
}
// windowBits 47 = 15 + 32: detect zlib or gzip framing automatically.
static inline int lstore_inflate_init_auto(z_streamp stream) {
  return inflateInit2(stream, 47);
}
#endif
