/* Graph utilities (src/ir/graph_util.h) on small hand-built graphs whose
 * expected results are worked out by hand: toposort, cycle reports, the
 * use/def index with subgraph reads, rewiring, unique names, dead-node
 * elimination and validation. */
#include <check.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/context.h"
#include "ir/graph.h"
#include "ir/graph_util.h"
#include "testutil.h"

/* NAMES("a", "b") expands to a count and an array, for onnxq_node_new. */
#define NAMES(...) (sizeof((const char *[]){__VA_ARGS__}) / sizeof(const char *)), (const char *[]){__VA_ARGS__}
#define NONE 0, NULL

/* ----------------------------------------------------------- builders */

static struct onnxq_graph *graph(const char *name)
{
    struct onnxq_graph *g = onnxq_graph_new();
    ck_assert_ptr_nonnull(g);
    g->name = onnxq_strdup(name);
    return g;
}

static struct onnxq_node *add_node(struct onnxq_graph *g, const char *op, const char *name, size_t ni,
                                   const char *const *in, size_t no, const char *const *out)
{
    struct onnxq_node *n = onnxq_node_new(op, name, ni, in, no, out);
    ck_assert_ptr_nonnull(n);
    ck_assert(onnxq_graph_insert_node(g, g->n_nodes, n));
    return n;
}

static void add_vis(struct onnxq_value_info **arr, size_t *count, size_t n, const char *const *names)
{
    *arr = realloc(*arr, (*count + n) * sizeof(**arr));
    ck_assert_ptr_nonnull(*arr);
    for (size_t i = 0; i < n; i++) {
        memset(&(*arr)[*count], 0, sizeof(**arr));
        (*arr)[*count].name = onnxq_strdup(names[i]);
        (*count)++;
    }
}

static void add_inputs(struct onnxq_graph *g, size_t n, const char *const *names)
{
    add_vis(&g->inputs, &g->n_inputs, n, names);
}

static void add_outputs(struct onnxq_graph *g, size_t n, const char *const *names)
{
    add_vis(&g->outputs, &g->n_outputs, n, names);
}

/* A float initializer of shape [n]. */
static void add_init(struct onnxq_graph *g, const char *name, int64_t n)
{
    struct onnxq_constant *c = calloc(1, sizeof(*c));
    ck_assert_ptr_nonnull(c);
    c->name = onnxq_strdup(name);
    struct onnxq_error err;
    ck_assert_int_eq(onnxq_tensor_alloc(&c->value, ONNXQ_DT_FLOAT, 1, &n, &err), ONNXQ_OK);
    ck_assert(onnxq_graph_add_init(g, c));
}

/* Attach a graph attribute (then_branch, body...); the node takes the graph. */
static void add_graph_attr(struct onnxq_node *n, const char *name, struct onnxq_graph *sub)
{
    struct onnxq_attr *a = realloc(n->attrs, (n->n_attrs + 1) * sizeof(*a));
    ck_assert_ptr_nonnull(a);
    n->attrs = a;
    a = &n->attrs[n->n_attrs++];
    memset(a, 0, sizeof(*a));
    a->name = onnxq_strdup(name);
    a->has_type = true;
    a->type = ONNXQ_ATTR_GRAPH;
    a->g = sub;
}

static struct onnxq_model *model_of(struct onnxq_graph *g)
{
    struct onnxq_model *m = calloc(1, sizeof(*m));
    ck_assert_ptr_nonnull(m);
    m->has_ir_version = true;
    m->ir_version = 8;
    m->graph = g;
    return m;
}

static size_t node_pos(const struct onnxq_graph *g, const char *name)
{
    for (size_t i = 0; i < g->n_nodes; i++)
        if (g->nodes[i]->name && strcmp(g->nodes[i]->name, name) == 0)
            return i;
    ck_abort_msg("no node named %s", name);
    return 0;
}

static const struct onnxq_node *node_named(const struct onnxq_graph *g, const char *name)
{
    return g->nodes[node_pos(g, name)];
}

/* "a,b,c": the node names of g in order. */
static void node_names(const struct onnxq_graph *g, char *buf, size_t size)
{
    size_t used = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < g->n_nodes && used < size; i++)
        used += (size_t)snprintf(buf + used, size - used, "%s%s", i ? "," : "", g->nodes[i]->name);
}

static void init_names(const struct onnxq_graph *g, char *buf, size_t size)
{
    size_t used = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < g->n_inits && used < size; i++)
        used += (size_t)snprintf(buf + used, size - used, "%s%s", i ? "," : "", g->inits[i]->name);
}

/* ---------------------------------------------------------- toposort */

struct name_list {
    const char *v[64];
    size_t n;
};

static void collect_name(const char *name, void *user)
{
    struct name_list *l = user;
    ck_assert_uint_lt(l->n, 64);
    l->v[l->n++] = name;
}

/* order is a permutation, and every node comes after the producers of what
 * it reads, explicitly or inside its subgraphs. */
static void assert_valid_order(const struct onnxq_graph *g, const size_t *order)
{
    size_t n = g->n_nodes;
    size_t *pos = malloc((n ? n : 1) * sizeof(*pos));
    for (size_t i = 0; i < n; i++)
        pos[i] = (size_t)-1;
    for (size_t k = 0; k < n; k++) {
        ck_assert_uint_lt(order[k], n);
        ck_assert_msg(pos[order[k]] == (size_t)-1, "node %zu listed twice", order[k]);
        pos[order[k]] = k;
    }
    for (size_t i = 0; i < n; i++) {
        const struct onnxq_node *nd = g->nodes[i];
        struct name_list reads = {.n = 0};
        for (size_t k = 0; k < nd->n_inputs; k++)
            if (*nd->inputs[k])
                collect_name(nd->inputs[k], &reads);
        onnxq_node_implicit_inputs(nd, collect_name, &reads);
        for (size_t r = 0; r < reads.n; r++)
            for (size_t j = 0; j < n; j++)
                for (size_t o = 0; o < g->nodes[j]->n_outputs; o++)
                    if (strcmp(g->nodes[j]->outputs[o], reads.v[r]) == 0)
                        ck_assert_msg(pos[j] < pos[i], "%s runs before %s, which produces its input %s",
                                      nd->name, g->nodes[j]->name, reads.v[r]);
    }
    free(pos);
}

/* Diamond x -> A -> a -> {B -> b, C -> c} -> D -> d, nodes inserted in the
 * order given by perm (a string of the letters A-D). */
static struct onnxq_graph *diamond(const char *perm)
{
    struct onnxq_graph *g = graph("diamond");
    add_inputs(g, NAMES("x"));
    add_outputs(g, NAMES("d"));
    for (const char *p = perm; *p; p++) {
        switch (*p) {
        case 'A': add_node(g, "Relu", "A", NAMES("x"), NAMES("a")); break;
        case 'B': add_node(g, "Neg", "B", NAMES("a"), NAMES("b")); break;
        case 'C': add_node(g, "Abs", "C", NAMES("a"), NAMES("c")); break;
        case 'D': add_node(g, "Add", "D", NAMES("b", "c"), NAMES("d")); break;
        default: ck_abort();
        }
    }
    return g;
}

static void assert_order(const struct onnxq_graph *g, const size_t *order, const size_t *want, size_t n)
{
    char got_s[128] = "", want_s[128] = "";
    for (size_t i = 0; i < n; i++) {
        snprintf(got_s + strlen(got_s), sizeof(got_s) - strlen(got_s), " %zu", order[i]);
        snprintf(want_s + strlen(want_s), sizeof(want_s) - strlen(want_s), " %zu", want[i]);
    }
    ck_assert_msg(memcmp(order, want, n * sizeof(*order)) == 0, "graph %s: order%s, expected%s", g->name,
                  got_s, want_s);
}

START_TEST(toposort_diamond)
{
    struct onnxq_error err;
    size_t order[8];

    /* every insertion order of the four nodes gives a valid order */
    static const char *const perms[] = {
        "ABCD", "ABDC", "ACBD", "ACDB", "ADBC", "ADCB", "BACD", "BADC", "BCAD", "BCDA", "BDAC", "BDCA",
        "CABD", "CADB", "CBAD", "CBDA", "CDAB", "CDBA", "DABC", "DACB", "DBAC", "DBCA", "DCAB", "DCBA",
    };
    for (size_t p = 0; p < 24; p++) {
        struct onnxq_graph *g = diamond(perms[p]);
        ck_assert_msg(onnxq_graph_toposort(g, order, &err) == ONNXQ_OK, "%s: %s", perms[p], err.message);
        assert_valid_order(g, order);
        /* an already sorted order is kept as it is */
        if (strcmp(perms[p], "ABCD") == 0 || strcmp(perms[p], "ACBD") == 0) {
            static const size_t ident[4] = {0, 1, 2, 3};
            assert_order(g, order, ident, 4);
        }
        onnxq_graph_free(g);
    }

    /* worked by hand: depth-first from each node in insertion order,
     * emitting a node after its producers */
    struct onnxq_graph *g = diamond("DCAB");
    ck_assert_int_eq(onnxq_graph_toposort(g, order, &err), ONNXQ_OK);
    static const size_t want_dcab[4] = {2, 3, 1, 0}; /* A B C D */
    assert_order(g, order, want_dcab, 4);
    /* graph_sort applies that order in place */
    ck_assert_int_eq(onnxq_graph_sort(g, &err), ONNXQ_OK);
    char names[256];
    node_names(g, names, sizeof(names));
    ck_assert_str_eq(names, "A,B,C,D");
    /* and sorting again changes nothing */
    ck_assert_int_eq(onnxq_graph_sort(g, &err), ONNXQ_OK);
    node_names(g, names, sizeof(names));
    ck_assert_str_eq(names, "A,B,C,D");
    onnxq_graph_free(g);

    g = diamond("BDCA");
    ck_assert_int_eq(onnxq_graph_toposort(g, order, &err), ONNXQ_OK);
    static const size_t want_bdca[4] = {3, 0, 2, 1}; /* A B C D */
    assert_order(g, order, want_bdca, 4);
    onnxq_graph_free(g);

    /* a subgraph read is a dependency: the If reads b inside its branch */
    g = graph("subdep");
    add_inputs(g, NAMES("x", "cond"));
    add_outputs(g, NAMES("r"));
    struct onnxq_node *iff = add_node(g, "If", "if", NAMES("cond"), NAMES("r"));
    struct onnxq_graph *br = graph("then");
    add_node(br, "Identity", "inner", NAMES("b"), NAMES("t"));
    add_outputs(br, NAMES("t"));
    add_graph_attr(iff, "then_branch", br);
    add_node(g, "Relu", "A", NAMES("x"), NAMES("a"));
    add_node(g, "Neg", "B", NAMES("a", ""), NAMES("b")); /* "" = omitted optional input */
    ck_assert_int_eq(onnxq_graph_toposort(g, order, &err), ONNXQ_OK);
    static const size_t want_sub[3] = {1, 2, 0}; /* A B if */
    assert_order(g, order, want_sub, 3);
    assert_valid_order(g, order);
    onnxq_graph_free(g);

    /* a graph without nodes sorts to nothing */
    g = graph("empty");
    ck_assert_int_eq(onnxq_graph_toposort(g, order, &err), ONNXQ_OK);
    ck_assert_int_eq(onnxq_graph_sort(g, &err), ONNXQ_OK);
    onnxq_graph_free(g);
}
END_TEST

START_TEST(toposort_cycles)
{
    struct onnxq_error err = {0};
    size_t order[8];

    /* pre -> cyc_a -> cyc_b -> cyc_c -> cyc_a, and post hanging off the loop */
    struct onnxq_graph *g = graph("loopy");
    add_inputs(g, NAMES("x"));
    add_outputs(g, NAMES("d"));
    add_node(g, "Relu", "pre", NAMES("x"), NAMES("p"));
    add_node(g, "Add", "cyc_a", NAMES("p", "c"), NAMES("a"));
    add_node(g, "Neg", "cyc_b", NAMES("a"), NAMES("b"));
    add_node(g, "Abs", "cyc_c", NAMES("b"), NAMES("c"));
    add_node(g, "Relu", "post", NAMES("a"), NAMES("d"));
    ck_assert_int_eq(onnxq_graph_toposort(g, order, &err), ONNXQ_E_INVALID_MODEL);
    printf("graph: cycle message: %s\n", err.message);
    ck_assert_ptr_nonnull(strstr(err.message, "cycle"));
    ck_assert_ptr_nonnull(strstr(err.message, "'loopy'"));
    ck_assert_ptr_nonnull(strstr(err.message, "'cyc_a'"));
    ck_assert_ptr_nonnull(strstr(err.message, "'cyc_b'"));
    ck_assert_ptr_nonnull(strstr(err.message, "'cyc_c'"));
    ck_assert_ptr_null(strstr(err.message, "'pre'"));
    ck_assert_ptr_null(strstr(err.message, "'post'"));
    /* sort fails the same way and leaves the order alone */
    ck_assert_int_eq(onnxq_graph_sort(g, &err), ONNXQ_E_INVALID_MODEL);
    char names[256];
    node_names(g, names, sizeof(names));
    ck_assert_str_eq(names, "pre,cyc_a,cyc_b,cyc_c,post");
    /* validation reports it too, and so does dead-node elimination */
    struct onnxq_model *m = model_of(g);
    ck_assert_int_eq(onnxq_model_validate(m, &err), ONNXQ_E_INVALID_MODEL);
    ck_assert_ptr_nonnull(strstr(err.message, "'cyc_b'"));
    ck_assert_int_eq(onnxq_graph_eliminate_dead(g, &err), -1);
    ck_assert_uint_eq(g->n_nodes, 5);
    onnxq_model_free(m);

    /* a node reading its own output */
    g = graph("selfie");
    add_inputs(g, NAMES("x"));
    add_node(g, "Relu", "ok_node", NAMES("x"), NAMES("y"));
    add_node(g, "Add", "self_loop", NAMES("y", "s"), NAMES("s"));
    ck_assert_int_eq(onnxq_graph_toposort(g, order, &err), ONNXQ_E_INVALID_MODEL);
    ck_assert_ptr_nonnull(strstr(err.message, "'self_loop'"));
    ck_assert_ptr_null(strstr(err.message, "'ok_node'"));
    onnxq_graph_free(g);

    /* a cycle closed through a subgraph read */
    g = graph("subcycle");
    add_inputs(g, NAMES("cond"));
    struct onnxq_node *iff = add_node(g, "If", "outer_if", NAMES("cond"), NAMES("u"));
    struct onnxq_graph *br = graph("then");
    add_node(br, "Identity", "reader", NAMES("t"), NAMES("bt"));
    add_outputs(br, NAMES("bt"));
    add_graph_attr(iff, "then_branch", br);
    add_node(g, "Relu", "back_edge", NAMES("u"), NAMES("t"));
    ck_assert_int_eq(onnxq_graph_toposort(g, order, &err), ONNXQ_E_INVALID_MODEL);
    ck_assert_ptr_nonnull(strstr(err.message, "'outer_if'"));
    ck_assert_ptr_nonnull(strstr(err.message, "'back_edge'"));
    ck_assert_ptr_null(strstr(err.message, "'reader'"));
    onnxq_graph_free(g);
}
END_TEST

/* -------------------------------------------------------------- index */

static void assert_uses(const struct onnxq_value_entry *e, size_t n, const struct onnxq_node *const *nodes,
                        const int *slots)
{
    ck_assert_msg(e != NULL, "no entry");
    ck_assert_msg(e->n_consumers == n, "'%s' has %zu consumers, expected %zu", e->name, e->n_consumers, n);
    for (size_t i = 0; i < n; i++) {
        ck_assert_msg(e->consumers[i].node == nodes[i], "'%s' consumer %zu is %s, expected %s", e->name, i,
                      e->consumers[i].node->name, nodes[i]->name);
        ck_assert_msg(e->consumers[i].slot == slots[i], "'%s' consumer %zu slot %d, expected %d", e->name, i,
                      e->consumers[i].slot, slots[i]);
    }
}

#define USES(e, ...)                                                                            \
    do {                                                                                        \
        const struct onnxq_node *const n_[] = {__VA_ARGS__};                                    \
        assert_uses((e), sizeof(n_) / sizeof(n_[0]), n_, slots_);                               \
    } while (0)

/* main graph: x, cond inputs; W initializer;
 *   conv:  x, W   -> y
 *   relu:  y      -> z
 *   add:   z, y   -> out
 *   opt:   z, ""  -> o1, ""
 *   split: y      -> s0, s1
 *   if:    cond   -> r
 *     then: t_add:   z, W   -> t1
 *           t_inner: If(t1) -> t2, body: ii: x, t1 -> ii_out
 *           t_relu:  t2, z  -> t_out
 *     else: e_id:    y      -> e_out
 * outputs out, r, o1, s1 */
static struct onnxq_graph *index_graph(void)
{
    struct onnxq_graph *g = graph("main");
    add_inputs(g, NAMES("x", "cond"));
    add_init(g, "W", 4);
    add_node(g, "Conv", "conv", NAMES("x", "W"), NAMES("y"));
    add_node(g, "Relu", "relu", NAMES("y"), NAMES("z"));
    add_node(g, "Add", "add", NAMES("z", "y"), NAMES("out"));
    add_node(g, "Dropout", "opt", NAMES("z", ""), NAMES("o1", ""));
    add_node(g, "Split", "split", NAMES("y"), NAMES("s0", "s1"));
    struct onnxq_node *iff = add_node(g, "If", "if", NAMES("cond"), NAMES("r"));
    struct onnxq_graph *then_g = graph("then");
    add_node(then_g, "Add", "t_add", NAMES("z", "W"), NAMES("t1"));
    struct onnxq_node *inner = add_node(then_g, "If", "t_inner", NAMES("t1"), NAMES("t2"));
    struct onnxq_graph *inner_body = graph("inner_body");
    add_node(inner_body, "Add", "ii", NAMES("x", "t1"), NAMES("ii_out"));
    add_outputs(inner_body, NAMES("ii_out"));
    add_graph_attr(inner, "then_branch", inner_body);
    add_node(then_g, "Add", "t_relu", NAMES("t2", "z"), NAMES("t_out"));
    add_outputs(then_g, NAMES("t_out"));
    struct onnxq_graph *else_g = graph("else");
    add_node(else_g, "Identity", "e_id", NAMES("y"), NAMES("e_out"));
    add_outputs(else_g, NAMES("e_out"));
    add_graph_attr(iff, "then_branch", then_g);
    add_graph_attr(iff, "else_branch", else_g);
    add_outputs(g, NAMES("out", "r", "o1", "s1"));
    return g;
}

START_TEST(index_and_implicit_inputs)
{
    struct onnxq_error err;
    struct onnxq_graph *g = index_graph();
    struct onnxq_model *m = model_of(g);
    ck_assert_msg(onnxq_model_validate(m, &err) == ONNXQ_OK, "%s", err.message);

    /* outer-scope reads of the If, once per reference, nested bodies included,
     * names defined inside the branches (t1, t2, ii_out...) excluded */
    struct name_list l = {.n = 0};
    onnxq_node_implicit_inputs(node_named(g, "if"), collect_name, &l);
    static const char *const want[] = {"z", "W", "x", "z", "y"};
    ck_assert_uint_eq(l.n, 5);
    for (size_t i = 0; i < 5; i++)
        ck_assert_str_eq(l.v[i], want[i]);
    l.n = 0;
    onnxq_node_implicit_inputs(node_named(g, "conv"), collect_name, &l);
    ck_assert_uint_eq(l.n, 0);

    struct onnxq_graph_index idx;
    ck_assert_int_eq(onnxq_graph_index_build(g, &idx, &err), ONNXQ_OK);
    const struct onnxq_node *conv = node_named(g, "conv"), *relu = node_named(g, "relu"),
                            *add = node_named(g, "add"), *opt = node_named(g, "opt"),
                            *split = node_named(g, "split"), *iff = node_named(g, "if");
    /* x, cond, W, y, z, out, o1, s0, s1, r */
    ck_assert_uint_eq(idx.n, 10);

    const struct onnxq_value_entry *e = onnxq_graph_index_get(&idx, "x");
    ck_assert(e && e->is_graph_input && !e->is_initializer && !e->is_graph_output && !e->producer);
    {
        const int slots_[] = {0, -1};
        USES(e, conv, iff);
    }
    e = onnxq_graph_index_get(&idx, "cond");
    ck_assert(e && e->is_graph_input && !e->producer);
    {
        const int slots_[] = {0};
        USES(e, iff);
    }
    e = onnxq_graph_index_get(&idx, "W");
    ck_assert(e && e->is_initializer && !e->is_graph_input && !e->producer);
    {
        const int slots_[] = {1, -1};
        USES(e, conv, iff);
    }
    e = onnxq_graph_index_get(&idx, "y");
    ck_assert(e && e->producer == conv && e->producer_slot == 0 && !e->is_graph_output);
    {
        const int slots_[] = {0, 1, 0, -1};
        USES(e, relu, add, split, iff);
    }
    e = onnxq_graph_index_get(&idx, "z");
    ck_assert(e && e->producer == relu && e->producer_slot == 0);
    {
        /* read twice inside the then branch: still one implicit use */
        const int slots_[] = {0, 0, -1};
        USES(e, add, opt, iff);
    }
    e = onnxq_graph_index_get(&idx, "out");
    ck_assert(e && e->producer == add && e->is_graph_output && e->n_consumers == 0);
    e = onnxq_graph_index_get(&idx, "o1");
    ck_assert(e && e->producer == opt && e->producer_slot == 0 && e->is_graph_output);
    e = onnxq_graph_index_get(&idx, "s0");
    ck_assert(e && e->producer == split && e->producer_slot == 0 && !e->is_graph_output && e->n_consumers == 0);
    e = onnxq_graph_index_get(&idx, "s1");
    ck_assert(e && e->producer == split && e->producer_slot == 1 && e->is_graph_output);
    e = onnxq_graph_index_get(&idx, "r");
    ck_assert(e && e->producer == iff && e->producer_slot == 0 && e->is_graph_output && e->n_consumers == 0);
    /* omitted optionals and names private to the branches are not values of this graph */
    ck_assert_ptr_null(onnxq_graph_index_get(&idx, ""));
    ck_assert_ptr_null(onnxq_graph_index_get(&idx, "t1"));
    ck_assert_ptr_null(onnxq_graph_index_get(&idx, "t_out"));
    ck_assert_ptr_null(onnxq_graph_index_get(&idx, "ii_out"));
    ck_assert_ptr_null(onnxq_graph_index_get(&idx, "e_out"));
    ck_assert_ptr_null(onnxq_graph_index_get(&idx, "nonexistent"));
    onnxq_graph_index_free(&idx);
    onnxq_graph_index_free(&idx); /* a freed index can be freed again */

    /* a subgraph's own index: outer values it reads have no producer */
    const struct onnxq_attr *a = onnxq_node_attr(iff, "then_branch");
    ck_assert_ptr_nonnull(a);
    ck_assert_int_eq(onnxq_graph_index_build(a->g, &idx, &err), ONNXQ_OK);
    e = onnxq_graph_index_get(&idx, "z");
    ck_assert(e && !e->producer && !e->is_graph_input);
    {
        const int slots_[] = {0, 1};
        USES(e, node_named(a->g, "t_add"), node_named(a->g, "t_relu"));
    }
    e = onnxq_graph_index_get(&idx, "t1");
    {
        const int slots_[] = {0, -1};
        USES(e, node_named(a->g, "t_inner"), node_named(a->g, "t_inner"));
    }
    e = onnxq_graph_index_get(&idx, "x");
    {
        const int slots_[] = {-1};
        USES(e, node_named(a->g, "t_inner"));
    }
    onnxq_graph_index_free(&idx);
    onnxq_model_free(m);
}
END_TEST

/* --------------------------------------------------------------- rewire */

START_TEST(rewire_readers)
{
    struct onnxq_graph *g = graph("rw");
    add_inputs(g, NAMES("x"));
    add_node(g, "Relu", "p", NAMES("x"), NAMES("y"));
    add_node(g, "Add", "a", NAMES("y", "y"), NAMES("s"));
    add_node(g, "Add", "b", NAMES("s", "y"), NAMES("t"));
    struct onnxq_node *iff = add_node(g, "If", "if", NAMES("x"), NAMES("r"));
    struct onnxq_graph *reads = graph("reads");
    add_node(reads, "Identity", "k", NAMES("y"), NAMES("k_out"));
    add_outputs(reads, NAMES("k_out"));
    struct onnxq_graph *passthru = graph("passthru");
    add_outputs(passthru, NAMES("y"));  /* a branch returning the outer value directly */
    add_graph_attr(iff, "then_branch", reads);
    add_graph_attr(iff, "else_branch", passthru);
    /* a body with its own "y": its reads are not the outer y */
    struct onnxq_node *loop = add_node(g, "Loop", "loop", NAMES("", "", "x"), NAMES("lo"));
    struct onnxq_graph *body = graph("body");
    add_inputs(body, NAMES("iter", "cond_in", "y"));
    add_node(body, "Neg", "shadowed", NAMES("y"), NAMES("body_out"));
    add_outputs(body, NAMES("cond_in", "body_out"));
    add_graph_attr(loop, "body", body);
    add_outputs(g, NAMES("y", "t", "r", "lo"));

    /* a: 2 slots, b: 1, k in the then branch: 1, the else branch output: 1,
     * the graph output: 1; p's own output and the shadowed body stay */
    ck_assert_int_eq(onnxq_graph_rewire(g, "y", "y2"), 6);
    const struct onnxq_node *a = node_named(g, "a"), *b = node_named(g, "b"), *p = node_named(g, "p");
    ck_assert_str_eq(a->inputs[0], "y2");
    ck_assert_str_eq(a->inputs[1], "y2");
    ck_assert_str_eq(b->inputs[0], "s");
    ck_assert_str_eq(b->inputs[1], "y2");
    ck_assert_str_eq(p->outputs[0], "y");
    ck_assert_str_eq(reads->nodes[0]->inputs[0], "y2");
    ck_assert_str_eq(passthru->outputs[0].name, "y2");
    ck_assert_str_eq(body->nodes[0]->inputs[0], "y");
    ck_assert_str_eq(body->inputs[2].name, "y");
    ck_assert_str_eq(g->outputs[0].name, "y2");
    ck_assert_str_eq(g->outputs[1].name, "t");

    /* `from` may be one of the strings being replaced */
    ck_assert_int_eq(onnxq_graph_rewire(g, g->outputs[0].name, "y3"), 6);
    ck_assert_str_eq(g->outputs[0].name, "y3");
    ck_assert_str_eq(a->inputs[1], "y3");
    ck_assert_str_eq(passthru->outputs[0].name, "y3");
    /* nothing reads a name that does not exist */
    ck_assert_int_eq(onnxq_graph_rewire(g, "nope", "y4"), 0);
    /* empty optional slots are not a name to rewire */
    ck_assert_str_eq(node_named(g, "loop")->inputs[0], "");

    /* now p's output y is read by nobody; make p write y3 and it validates */
    free(node_named(g, "p")->outputs[0]);
    node_named(g, "p")->outputs[0] = onnxq_strdup("y3");
    struct onnxq_model *m = model_of(g);
    struct onnxq_error err;
    ck_assert_msg(onnxq_model_validate(m, &err) == ONNXQ_OK, "%s", err.message);
    onnxq_model_free(m);
}
END_TEST

/* -------------------------------------------------------------- namegen */

START_TEST(namegen_unique)
{
    struct onnxq_graph *g = graph("names");
    add_inputs(g, NAMES("x", "cond"));
    add_init(g, "W", 2);
    add_node(g, "Relu", "relu_node", NAMES("x"), NAMES("y_1"));
    add_node(g, "Add", "n2", NAMES("y_1", "W"), NAMES("y"));
    add_node(g, "Neg", "n3", NAMES("y"), NAMES("t_1"));
    struct onnxq_node *iff = add_node(g, "If", "if", NAMES("cond"), NAMES("r"));
    struct onnxq_graph *br = graph("branch");
    add_node(br, "Identity", "inner_node", NAMES("W"), NAMES("inner"));
    add_outputs(br, NAMES("inner"));
    add_graph_attr(iff, "then_branch", br);
    add_vis(&g->value_info, &g->n_value_info, NAMES("vi_name"));
    add_outputs(g, NAMES("y", "r", "t_1"));
    struct onnxq_model *m = model_of(g);
    struct onnxq_error err;
    ck_assert_msg(onnxq_model_validate(m, &err) == ONNXQ_OK, "%s", err.message);

    static const char *const existing[] = {"x", "cond", "W", "relu_node", "y_1", "n2", "y", "n3", "t_1",
                                           "if", "r", "inner_node", "inner", "vi_name"};
    const size_t n_existing = sizeof(existing) / sizeof(existing[0]);
    struct onnxq_namegen ng;
    ck_assert_int_eq(onnxq_namegen_init(&ng, m, &err), ONNXQ_OK);

    enum { MANY = 1000 };
    const char **made = calloc(MANY + 16, sizeof(*made));
    char **copies = calloc(MANY + 16, sizeof(*copies));
    size_t n_made = 0;
    static const char *const bases[] = {"y", "y", "t", "inner", "inner_node", "relu_node", "vi_name", "W",
                                        "x", "fresh", "fresh", ""};
    for (size_t i = 0; i < sizeof(bases) / sizeof(bases[0]); i++) {
        const char *s = onnxq_namegen_make(&ng, bases[i]);
        ck_assert_ptr_nonnull(s);
        ck_assert_msg(*s != '\0', "empty name for base '%s'", bases[i]);
        ck_assert_msg(strncmp(s, bases[i], strlen(bases[i])) == 0, "'%s' does not start with '%s'", s, bases[i]);
        made[n_made] = s;
        copies[n_made++] = onnxq_strdup(s);
    }
    /* a base nobody uses is taken as it is, once */
    ck_assert_str_eq(made[9], "fresh");
    ck_assert_str_ne(made[10], "fresh");
    for (size_t i = 0; i < MANY; i++) {
        const char *s = onnxq_namegen_make(&ng, i % 2 ? "t" : "y_1");
        ck_assert_ptr_nonnull(s);
        made[n_made] = s;
        copies[n_made++] = onnxq_strdup(s);
    }
    for (size_t i = 0; i < n_made; i++) {
        for (size_t k = 0; k < n_existing; k++)
            ck_assert_msg(strcmp(made[i], existing[k]) != 0, "namegen returned the existing name '%s'", made[i]);
        /* the strings stay valid and unchanged while the generator lives */
        ck_assert_str_eq(made[i], copies[i]);
        for (size_t k = 0; k < i; k++)
            ck_assert_msg(strcmp(made[i], made[k]) != 0, "namegen returned '%s' twice", made[i]);
    }
    onnxq_namegen_free(&ng);
    onnxq_namegen_free(&ng); /* freeing twice is harmless */
    for (size_t i = 0; i < n_made; i++)
        free(copies[i]);

    /* long names: no truncation into a name already handed out */
    char longname[700];
    memset(longname, 'L', sizeof(longname) - 1);
    longname[sizeof(longname) - 1] = '\0';
    free(g->outputs[2].name); /* t_1 becomes a 699-character name */
    g->outputs[2].name = onnxq_strdup(longname);
    free(node_named(g, "n3")->outputs[0]);
    node_named(g, "n3")->outputs[0] = onnxq_strdup(longname);
    ck_assert_int_eq(onnxq_namegen_init(&ng, m, &err), ONNXQ_OK);
    n_made = 0;
    for (size_t i = 0; i < 4; i++) {
        const char *s = onnxq_namegen_make(&ng, longname);
        ck_assert_ptr_nonnull(s);
        ck_assert_str_ne(s, longname);
        ck_assert_msg(strncmp(s, longname, strlen(longname)) == 0, "long base was cut");
        made[n_made++] = s;
    }
    char other[600];
    memset(other, 'M', sizeof(other) - 1);
    other[sizeof(other) - 1] = '\0';
    for (size_t i = 0; i < 4; i++) {
        const char *s = onnxq_namegen_make(&ng, other);
        ck_assert_ptr_nonnull(s);
        ck_assert_msg(strncmp(s, other, strlen(other)) == 0, "long base was cut");
        made[n_made++] = s;
    }
    for (size_t i = 0; i < n_made; i++)
        for (size_t k = 0; k < i; k++)
            ck_assert_msg(strcmp(made[i], made[k]) != 0, "namegen returned a %zu-character name twice",
                          strlen(made[i]));
    onnxq_namegen_free(&ng);

    /* a model without a graph has no names yet */
    struct onnxq_model *empty = model_of(NULL);
    ck_assert_int_eq(onnxq_namegen_init(&ng, empty, &err), ONNXQ_OK);
    ck_assert_str_eq(onnxq_namegen_make(&ng, "a"), "a");
    ck_assert_str_ne(onnxq_namegen_make(&ng, "a"), "a");
    onnxq_namegen_free(&ng);
    onnxq_model_free(empty);

    free(made);
    free(copies);
    onnxq_model_free(m);
}
END_TEST

/* ---------------------------------------------------------- dead nodes */

START_TEST(eliminate_dead_nodes)
{
    struct onnxq_graph *g = graph("dead");
    add_inputs(g, NAMES("x", "cond", "Wdef"));
    add_init(g, "W1", 4);
    add_init(g, "W2", 4);
    add_init(g, "W3", 4);         /* read by nobody from the start */
    add_init(g, "Wdef", 4);       /* unused, but a graph input: an overridable default */
    add_init(g, "Wsub", 4);       /* read only inside a live subgraph */
    add_init(g, "Wdead_sub", 4);  /* read only inside a dead subgraph */
    add_node(g, "Add", "a", NAMES("x", "W1"), NAMES("a"));
    add_node(g, "Add", "d1", NAMES("a", "W2"), NAMES("d1"));       /* dead chain d1 -> d2 */
    add_node(g, "Relu", "s", NAMES("x"), NAMES("s"));              /* read by if's branch only */
    add_node(g, "Relu", "s2", NAMES("x"), NAMES("s2"));            /* read by a nested branch only */
    add_node(g, "Relu", "b", NAMES("a"), NAMES("out"));
    add_node(g, "Neg", "d2", NAMES("d1"), NAMES("d2"));
    add_node(g, "Relu", "d3", NAMES("x"), NAMES("d3v"));           /* read only by deadif's branch */
    struct onnxq_node *deadif = add_node(g, "If", "deadif", NAMES("cond"), NAMES("dr"));
    struct onnxq_graph *dbr = graph("dead_branch");
    add_node(dbr, "Add", "db", NAMES("a", "Wdead_sub"), NAMES("db_out"));
    add_node(dbr, "Add", "db2", NAMES("db_out", "d3v"), NAMES("db_out2"));
    add_outputs(dbr, NAMES("db_out2"));
    add_graph_attr(deadif, "then_branch", dbr);
    struct onnxq_node *iff = add_node(g, "If", "if", NAMES("cond"), NAMES("r"));
    struct onnxq_graph *br = graph("live_branch");
    add_node(br, "Add", "lb", NAMES("s", "Wsub"), NAMES("lb_out"));
    struct onnxq_node *nested = add_node(br, "If", "nested", NAMES("cond"), NAMES("n_out"));
    struct onnxq_graph *nbr = graph("nested_branch");
    add_node(nbr, "Identity", "nb", NAMES("s2"), NAMES("nb_out"));
    add_outputs(nbr, NAMES("nb_out"));
    add_graph_attr(nested, "then_branch", nbr);
    add_node(br, "Add", "lb2", NAMES("lb_out", "n_out"), NAMES("lb_out2"));
    add_outputs(br, NAMES("lb_out2"));
    add_graph_attr(iff, "then_branch", br);
    add_node(g, "Split", "multi", NAMES("a"), NAMES("m0", "m1")); /* only m1 is used */
    add_outputs(g, NAMES("out", "r", "m1"));
    struct onnxq_model *m = model_of(g);
    struct onnxq_error err;
    ck_assert_msg(onnxq_model_validate(m, &err) == ONNXQ_OK, "%s", err.message);

    ck_assert_int_eq(onnxq_graph_eliminate_dead(g, &err), 4); /* d1, d2, d3, deadif */
    char names[512];
    node_names(g, names, sizeof(names));
    ck_assert_str_eq(names, "a,s,s2,b,if,multi");
    init_names(g, names, sizeof(names));
    ck_assert_str_eq(names, "W1,Wdef,Wsub");
    ck_assert_msg(onnxq_model_validate(m, &err) == ONNXQ_OK, "%s", err.message);
    /* the live subgraph is untouched */
    ck_assert_uint_eq(br->n_nodes, 3);
    /* nothing more to remove */
    ck_assert_int_eq(onnxq_graph_eliminate_dead(g, &err), 0);
    node_names(g, names, sizeof(names));
    ck_assert_str_eq(names, "a,s,s2,b,if,multi");

    /* dropping the outputs leaves only the initializer that is also an input */
    for (size_t i = 0; i < g->n_outputs; i++)
        onnxq_value_info_clear(&g->outputs[i]);
    g->n_outputs = 0;
    ck_assert_int_eq(onnxq_graph_eliminate_dead(g, &err), 6);
    ck_assert_uint_eq(g->n_nodes, 0);
    init_names(g, names, sizeof(names));
    ck_assert_str_eq(names, "Wdef");
    onnxq_model_free(m);
}
END_TEST

/* ------------------------------------------------------------ validate */

/* inputs x, cond; W initializer; relu: x -> y;
 * if: cond -> r, then: t: y, W -> t_out; else: e: x -> e_out */
static struct onnxq_model *if_model(struct onnxq_graph **then_out, struct onnxq_graph **else_out)
{
    struct onnxq_graph *g = graph("valid");
    add_inputs(g, NAMES("x", "cond"));
    add_init(g, "W", 4);
    add_node(g, "Relu", "relu", NAMES("x"), NAMES("y"));
    struct onnxq_node *iff = add_node(g, "If", "if", NAMES("cond"), NAMES("r"));
    struct onnxq_graph *then_g = graph("then_g");
    add_node(then_g, "Add", "t", NAMES("y", "W"), NAMES("t_out"));
    add_outputs(then_g, NAMES("t_out"));
    struct onnxq_graph *else_g = graph("else_g");
    add_node(else_g, "Neg", "e", NAMES("x"), NAMES("e_out"));
    add_outputs(else_g, NAMES("e_out"));
    add_graph_attr(iff, "then_branch", then_g);
    add_graph_attr(iff, "else_branch", else_g);
    add_outputs(g, NAMES("r"));
    if (then_out)
        *then_out = then_g;
    if (else_out)
        *else_out = else_g;
    return model_of(g);
}

static void expect_invalid(struct onnxq_model *m, const char *what, ...)
{
    struct onnxq_error err = {0};
    enum onnxq_status st = onnxq_model_validate(m, &err);
    ck_assert_msg(st == ONNXQ_E_INVALID_MODEL, "%s: expected ONNXQ_E_INVALID_MODEL, got %s (%s)", what,
                  onnxq_status_name(st), st ? err.message : "valid");
    va_list ap;
    va_start(ap, what);
    const char *w;
    while ((w = va_arg(ap, const char *)))
        ck_assert_msg(strstr(err.message, w), "%s: message lacks '%s': %s", what, w, err.message);
    va_end(ap);
    printf("graph: %-26s %s\n", what, err.message);
    onnxq_model_free(m);
}

START_TEST(validate_models)
{
    struct onnxq_error err;
    struct onnxq_graph *then_g, *else_g;
    struct onnxq_model *m = if_model(&then_g, &else_g);
    ck_assert_msg(onnxq_model_validate(m, &err) == ONNXQ_OK, "%s", err.message);
    /* a branch may return an outer value directly, and an initializer may
     * also be a graph input (IR < 4 style) */
    free(else_g->outputs[0].name);
    else_g->outputs[0].name = onnxq_strdup("y");
    add_inputs(m->graph, NAMES("W"));
    ck_assert_msg(onnxq_model_validate(m, &err) == ONNXQ_OK, "%s", err.message);
    onnxq_model_free(m);

    /* a branch reads a value only its sibling branch defines */
    m = if_model(&then_g, &else_g);
    ck_assert(onnxq_node_set_input(then_g->nodes[0], 1, "e_out"));
    expect_invalid(m, "sibling scope read", "'e_out'", "'t'", "subgraph", "'if'", NULL);

    /* a branch reads a name nobody defines */
    m = if_model(&then_g, NULL);
    ck_assert(onnxq_node_set_input(then_g->nodes[0], 0, "ghost"));
    expect_invalid(m, "subgraph undefined read", "'ghost'", "'then_g'", NULL);

    /* a branch output nothing produces */
    m = if_model(NULL, &else_g);
    free(else_g->outputs[0].name);
    else_g->outputs[0].name = onnxq_strdup("nothing");
    expect_invalid(m, "subgraph output", "'nothing'", "'else_g'", NULL);

    /* two nodes inside a branch write one name */
    m = if_model(&then_g, NULL);
    add_node(then_g, "Neg", "t2", NAMES("y"), NAMES("t_out"));
    expect_invalid(m, "subgraph duplicate", "'t_out'", "'t2'", NULL);

    /* main graph: undefined input, duplicate output, unproduced output */
    m = if_model(NULL, NULL);
    ck_assert(onnxq_node_set_input(m->graph->nodes[0], 0, "missing"));
    expect_invalid(m, "undefined input", "'relu'", "'missing'", NULL);
    m = if_model(NULL, NULL);
    add_node(m->graph, "Neg", "again", NAMES("x"), NAMES("y"));
    expect_invalid(m, "duplicate output", "'y'", "'again'", "'relu'", NULL);
    m = if_model(NULL, NULL);
    add_node(m->graph, "Neg", "clobber", NAMES("x"), NAMES("W"));
    expect_invalid(m, "output over initializer", "'W'", "'clobber'", "initializer", NULL);
    m = if_model(NULL, NULL);
    add_outputs(m->graph, NAMES("zzz"));
    expect_invalid(m, "unproduced graph output", "'zzz'", NULL);
    m = if_model(NULL, NULL);
    add_outputs(m->graph, NAMES(""));
    expect_invalid(m, "unnamed graph output", "output", NULL);

    /* inputs and initializers */
    m = if_model(NULL, NULL);
    add_inputs(m->graph, NAMES("x"));
    expect_invalid(m, "duplicate graph input", "'x'", "twice", NULL);
    m = if_model(NULL, NULL);
    add_inputs(m->graph, NAMES(""));
    expect_invalid(m, "unnamed graph input", "no name", NULL);
    m = if_model(NULL, NULL);
    add_init(m->graph, "W", 2);
    expect_invalid(m, "duplicate initializer", "'W'", "twice", NULL);

    /* a cycle */
    m = if_model(NULL, NULL);
    ck_assert(onnxq_node_set_input(m->graph->nodes[0], 0, "r"));
    add_node(m->graph, "Identity", "feedback", NAMES("r"), NAMES("unused"));
    expect_invalid(m, "cycle through a branch", "cycle", "'relu'", "'if'", NULL);

    /* no graph at all */
    expect_invalid(model_of(NULL), "no graph", "no graph", NULL);
}
END_TEST

/* ------------------------------------------------- a real If model */

START_TEST(test_if_model_index)
{
    const char *root = tu_env_dir("ONNXQ_TESTDATA");
    ck_assert_msg(root != NULL, "ONNXQ_TESTDATA is not set");
    char path[4096];
    snprintf(path, sizeof(path), "%s/node/test_if/model.onnx", root);
    struct onnxq_context *ctx = NULL;
    struct onnxq_error err;
    ck_assert_int_eq(onnxq_context_new(&ctx, &err), ONNXQ_OK);
    struct onnxq_model *m = NULL;
    ck_assert_msg(onnxq_model_load(ctx, path, &m, &err) == ONNXQ_OK, "%s", err.message);
    ck_assert_int_eq(onnxq_model_validate(m, &err), ONNXQ_OK);
    const struct onnxq_graph *g = m->graph;
    ck_assert_uint_eq(g->n_nodes, 1);
    const struct onnxq_node *iff = g->nodes[0];
    ck_assert_str_eq(iff->op_type, "If");

    /* the branches are Constant nodes: no outer reads */
    struct name_list l = {.n = 0};
    onnxq_node_implicit_inputs(iff, collect_name, &l);
    ck_assert_uint_eq(l.n, 0);

    struct onnxq_graph_index idx;
    ck_assert_int_eq(onnxq_graph_index_build(g, &idx, &err), ONNXQ_OK);
    ck_assert_uint_eq(idx.n, 2); /* cond, res */
    const struct onnxq_value_entry *e = onnxq_graph_index_get(&idx, "cond");
    ck_assert(e && e->is_graph_input && !e->producer && !e->is_initializer && !e->is_graph_output);
    ck_assert_uint_eq(e->n_consumers, 1);
    ck_assert_ptr_eq(e->consumers[0].node, iff);
    ck_assert_int_eq(e->consumers[0].slot, 0);
    e = onnxq_graph_index_get(&idx, "res");
    ck_assert(e && e->producer == iff && e->producer_slot == 0 && e->is_graph_output && !e->is_graph_input);
    ck_assert_uint_eq(e->n_consumers, 0);
    ck_assert_ptr_null(onnxq_graph_index_get(&idx, "then_out"));
    ck_assert_ptr_null(onnxq_graph_index_get(&idx, "else_out"));
    onnxq_graph_index_free(&idx);

    /* the branches' values are reserved names too */
    struct onnxq_namegen ng;
    ck_assert_int_eq(onnxq_namegen_init(&ng, m, &err), ONNXQ_OK);
    ck_assert_str_ne(onnxq_namegen_make(&ng, "then_out"), "then_out");
    ck_assert_str_ne(onnxq_namegen_make(&ng, "res"), "res");
    onnxq_namegen_free(&ng);
    size_t order[1];
    ck_assert_int_eq(onnxq_graph_toposort(g, order, &err), ONNXQ_OK);
    ck_assert_uint_eq(order[0], 0);
    ck_assert_int_eq(onnxq_graph_eliminate_dead(m->graph, &err), 0);
    onnxq_model_free(m);
    onnxq_context_free(ctx);
}
END_TEST

static Suite *graph_suite(void)
{
    Suite *s = suite_create("graph");
    TCase *tc = tcase_create("graph_util");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, toposort_diamond);
    tcase_add_test(tc, toposort_cycles);
    tcase_add_test(tc, index_and_implicit_inputs);
    tcase_add_test(tc, rewire_readers);
    tcase_add_test(tc, namegen_unique);
    tcase_add_test(tc, eliminate_dead_nodes);
    tcase_add_test(tc, validate_models);
    tcase_add_test(tc, test_if_model_index);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return tu_run_suite(graph_suite());
}
