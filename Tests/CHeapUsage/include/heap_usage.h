#ifndef PORTCULLIS_HEAP_USAGE_H
#define PORTCULLIS_HEAP_USAGE_H
#include <stddef.h>

/// Bytes malloc has handed out and not taken back, from its arenas and in mmapped blocks (glibc's
/// mallinfo2: uordblks + hblkhd); 0 elsewhere.
size_t portcullis_heap_in_use(void);

#endif
