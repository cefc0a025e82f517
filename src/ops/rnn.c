/* Recurrent layers: LSTM, GRU, RNN. */
#include "ops/rnn.h"
