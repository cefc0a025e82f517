/* Open-addressing hash map from NUL-terminated strings to void pointers.
 * Keys are borrowed: the caller keeps them alive while they are in the map. */
#ifndef ONNXQ_CORE_STRMAP_H
#define ONNXQ_CORE_STRMAP_H

#include <stdbool.h>
#include <stddef.h>

struct onnxq_strmap_slot {
    const char *key;
    void *value;
};

struct onnxq_strmap {
    struct onnxq_strmap_slot *slots;
    size_t cap;   /* power of two or 0 */
    size_t count;
};

/* Returns false on allocation failure. Replaces the value of an existing key. */
bool onnxq_strmap_put(struct onnxq_strmap *m, const char *key, void *value);
/* NULL when absent (so don't store NULL values if you need to tell). */
void *onnxq_strmap_get(const struct onnxq_strmap *m, const char *key);
bool onnxq_strmap_has(const struct onnxq_strmap *m, const char *key);
void onnxq_strmap_free(struct onnxq_strmap *m);

#endif
