/* Recurrent layers: LSTM, GRU, RNN. */
#ifndef ONNXQ_OPS_RNN_H
#define ONNXQ_OPS_RNN_H

#include "ops/op.h"

/* ---- the layer kernel, shared by the three ops and the unit tests ---- */

enum onnxq_rnn_kind { ONNXQ_RNN_SIMPLE = 0, ONNXQ_RNN_GRU, ONNXQ_RNN_LSTM };

enum onnxq_rnn_act {
    ONNXQ_ACT_SIGMOID = 0,
    ONNXQ_ACT_TANH,
    ONNXQ_ACT_RELU,
    ONNXQ_ACT_AFFINE,
    ONNXQ_ACT_LEAKYRELU,
    ONNXQ_ACT_THRESHOLDEDRELU,
    ONNXQ_ACT_SCALEDTANH,
    ONNXQ_ACT_HARDSIGMOID,
    ONNXQ_ACT_ELU,
    ONNXQ_ACT_SOFTSIGN,
    ONNXQ_ACT_SOFTPLUS,
};

struct onnxq_rnn_activation {
    enum onnxq_rnn_act kind;
    float alpha, beta;
};

enum onnxq_rnn_direction { ONNXQ_RNN_FORWARD = 0, ONNXQ_RNN_REVERSE, ONNXQ_RNN_BIDIRECTIONAL };

/* Gates per kind: RNN 1, GRU 3 (z r h), LSTM 4 (i o f c). Activations per
 * direction: RNN 1 (f), GRU 2 (f g), LSTM 3 (f g h); act[d * n + k]. */
struct onnxq_rnn_cfg {
    enum onnxq_rnn_kind kind;
    enum onnxq_rnn_direction direction;
    int64_t hidden;
    struct onnxq_rnn_activation act[6];
    bool has_clip;
    float clip;
    bool input_forget;         /* LSTM */
    bool linear_before_reset;  /* GRU */
};

/* One call's tensors, all float32 and in layout 0 (time major):
 * x [T,N,I], w [D,G*H,I], r [D,G*H,H], b [D,2*G*H], p [D,3*H],
 * seq_lens [N] (each in [0,T]), h0/c0 [D,N,H]; outputs y [T,D,N,H],
 * yh/yc [D,N,H]. Optional ones may be NULL. */
struct onnxq_rnn_io {
    int64_t T, N, NI;
    const float *x, *w, *r, *b, *p;
    const int32_t *seq_lens;
    const float *h0, *c0;
    float *y, *yh, *yc;
};

int onnxq_rnn_gates(enum onnxq_rnn_kind kind);
int onnxq_rnn_acts(enum onnxq_rnn_kind kind);

/* Run the layer: BLAS version (reference = false) or the plain scalar one.
 * Returns false on out of memory. */
bool onnxq_rnn_layer(const struct onnxq_rnn_cfg *cfg, const struct onnxq_rnn_io *io, bool reference);

/* ---- operators ---- */
enum onnxq_status onnxq_rnn_init(struct onnxq_op_init *ictx, void **state);
enum onnxq_status onnxq_gru_init(struct onnxq_op_init *ictx, void **state);
enum onnxq_status onnxq_lstm_init(struct onnxq_op_init *ictx, void **state);
enum onnxq_status onnxq_rnn_shape(void *state, struct onnxq_op_ctx *ctx);
enum onnxq_status onnxq_rnn_run(void *state, struct onnxq_op_ctx *ctx);
void onnxq_rnn_fini(void *state);

/* X(domain, name, since_version, init, infer_shape, run, fini) */
#define ONNXQ_OPS_RNN(X) \
    X("", "RNN", 1, onnxq_rnn_init, onnxq_rnn_shape, onnxq_rnn_run, onnxq_rnn_fini) \
    X("", "RNN", 7, onnxq_rnn_init, onnxq_rnn_shape, onnxq_rnn_run, onnxq_rnn_fini) \
    X("", "RNN", 14, onnxq_rnn_init, onnxq_rnn_shape, onnxq_rnn_run, onnxq_rnn_fini) \
    X("", "GRU", 1, onnxq_gru_init, onnxq_rnn_shape, onnxq_rnn_run, onnxq_rnn_fini) \
    X("", "GRU", 3, onnxq_gru_init, onnxq_rnn_shape, onnxq_rnn_run, onnxq_rnn_fini) \
    X("", "GRU", 7, onnxq_gru_init, onnxq_rnn_shape, onnxq_rnn_run, onnxq_rnn_fini) \
    X("", "GRU", 14, onnxq_gru_init, onnxq_rnn_shape, onnxq_rnn_run, onnxq_rnn_fini) \
    X("", "LSTM", 1, onnxq_lstm_init, onnxq_rnn_shape, onnxq_rnn_run, onnxq_rnn_fini) \
    X("", "LSTM", 7, onnxq_lstm_init, onnxq_rnn_shape, onnxq_rnn_run, onnxq_rnn_fini) \
    X("", "LSTM", 14, onnxq_lstm_init, onnxq_rnn_shape, onnxq_rnn_run, onnxq_rnn_fini)

#endif
