#include "core/strmap.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static uint64_t hash_str(const char *s)
{
    /* FNV-1a, 64 bit */
    uint64_t h = 1469598103934665603ull;
    for (; *s; s++) {
        h ^= (unsigned char)*s;
        h *= 1099511628211ull;
    }
    return h;
}

static struct onnxq_strmap_slot *find_slot(struct onnxq_strmap_slot *slots, size_t cap, const char *key)
{
    size_t i = (size_t)hash_str(key) & (cap - 1);
    for (;;) {
        if (!slots[i].key || strcmp(slots[i].key, key) == 0)
            return &slots[i];
        i = (i + 1) & (cap - 1);
    }
}

static bool grow(struct onnxq_strmap *m)
{
    size_t ncap = m->cap ? m->cap * 2 : 16;
    struct onnxq_strmap_slot *ns = calloc(ncap, sizeof(*ns));
    if (!ns)
        return false;
    for (size_t i = 0; i < m->cap; i++)
        if (m->slots[i].key)
            *find_slot(ns, ncap, m->slots[i].key) = m->slots[i];
    free(m->slots);
    m->slots = ns;
    m->cap = ncap;
    return true;
}

bool onnxq_strmap_put(struct onnxq_strmap *m, const char *key, void *value)
{
    if ((m->count + 1) * 4 > m->cap * 3 && !grow(m))
        return false;
    struct onnxq_strmap_slot *s = find_slot(m->slots, m->cap, key);
    if (!s->key) {
        s->key = key;
        m->count++;
    }
    s->value = value;
    return true;
}

void *onnxq_strmap_get(const struct onnxq_strmap *m, const char *key)
{
    if (!m->cap)
        return NULL;
    struct onnxq_strmap_slot *s = find_slot(m->slots, m->cap, key);
    return s->key ? s->value : NULL;
}

bool onnxq_strmap_has(const struct onnxq_strmap *m, const char *key)
{
    return m->cap && find_slot(m->slots, m->cap, key)->key != NULL;
}

void onnxq_strmap_free(struct onnxq_strmap *m)
{
    if (!m)
        return;
    free(m->slots);
    memset(m, 0, sizeof(*m));
}
