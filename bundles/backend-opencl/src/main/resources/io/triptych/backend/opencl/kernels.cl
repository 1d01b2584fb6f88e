// Every kernel of the OpenCL backend, built once per device as one program.
// Float32 data; integer tensors arrive as int32 (indices, masks). Shapes and strides of up to
// 8 dimensions travel as int8 vectors and are unpacked into private arrays. ClDevice builds it after
// elementwise.cl (apply_binary, apply_unary, gelu_tanh).

#define TS 16

inline int offset_of(int i, int rank, const int* dims, const int* strides) {
    int off = 0;
    for (int k = rank - 1; k >= 0; k--) {
        int c = i % dims[k];
        i /= dims[k];
        off += c * strides[k];
    }
    return off;
}

__kernel void binary(__global float* out, __global const float* a, __global const float* b, int op, int n,
                     int rank, int8 dims, int8 sa, int8 sb) {
    int i = get_global_id(0);
    if (i >= n) return;
    int d[8], x[8], y[8];
    vstore8(dims, 0, d); vstore8(sa, 0, x); vstore8(sb, 0, y);
    int oa = 0, ob = 0, r = i;
    for (int k = rank - 1; k >= 0; k--) {
        int c = r % d[k];
        r /= d[k];
        oa += c * x[k];
        ob += c * y[k];
    }
    out[i] = apply_binary(op, a[oa], b[ob]);
}

__kernel void unary(__global float* out, __global const float* in, int op, int n, float alpha, float beta) {
    int i = get_global_id(0);
    if (i < n) out[i] = apply_unary(op, in[i], alpha, beta);
}

__kernel void fast_gelu(__global float* out, __global const float* in, __global const float* bias, int n, int biasLen) {
    int i = get_global_id(0);
    if (i >= n) return;
    float x = in[i] + (biasLen > 0 ? bias[i % biasLen] : 0.0f);
    out[i] = gelu_tanh(x);
}

__kernel void where_select(__global float* out, __global const int* cond, __global const float* x, __global const float* y,
                           int n, int rank, int8 dims, int8 sc, int8 sx, int8 sy) {
    int i = get_global_id(0);
    if (i >= n) return;
    int d[8], c[8], a[8], b[8];
    vstore8(dims, 0, d); vstore8(sc, 0, c); vstore8(sx, 0, a); vstore8(sy, 0, b);
    int oc = 0, ox = 0, oy = 0, r = i;
    for (int k = rank - 1; k >= 0; k--) {
        int e = r % d[k];
        r /= d[k];
        oc += e * c[k];
        ox += e * a[k];
        oy += e * b[k];
    }
    out[i] = cond[oc] != 0 ? x[ox] : y[oy];
}

__kernel void copy_strided(__global float* dst, int dOff, int8 dStrides, __global const float* src, int sOff, int8 sStrides,
                           int8 dims, int rank, int n) {
    int i = get_global_id(0);
    if (i >= n) return;
    int d[8], ds[8], ss[8];
    vstore8(dims, 0, d); vstore8(dStrides, 0, ds); vstore8(sStrides, 0, ss);
    int od = dOff, os = sOff, r = i;
    for (int k = rank - 1; k >= 0; k--) {
        int c = r % d[k];
        r /= d[k];
        od += c * ds[k];
        os += c * ss[k];
    }
    dst[od] = src[os];
}

__kernel void fill(__global float* out, float value, int n) {
    int i = get_global_id(0);
    if (i < n) out[i] = value;
}

__kernel void gather(__global float* out, __global const float* data, __global const int* idx,
                     int axisLen, int inner, int nIdx, int n) {
    int i = get_global_id(0);
    if (i >= n) return;
    int k = i % inner;
    int j = (i / inner) % nIdx;
    int o = i / (inner * nIdx);
    int id = idx[j];
    if (id < 0) id += axisLen;
    out[i] = data[(o * axisLen + id) * inner + k];
}

inline int2 batch_offsets(int batch, int batchRank, int8 batchDims, int8 aBatch, int8 bBatch) {
    int d[8], sa[8], sb[8];
    vstore8(batchDims, 0, d); vstore8(aBatch, 0, sa); vstore8(bBatch, 0, sb);
    int2 off = (int2) (0, 0);
    for (int k = batchRank - 1; k >= 0; k--) {
        int c = batch % d[k];
        batch /= d[k];
        off += (int2) (c * sa[k], c * sb[k]);
    }
    return off;
}

// Four adjacent columns of B from row k: one vector load when rows are contiguous and all four exist.
inline float4 load_b4(__global const float* b, int k, int bRs, int bCs, int left) {
    if (bCs == 1 && left >= 4) return vload4(0, b + k * bRs);
    __global const float* p = b + k * bRs;
    return (float4) (p[0], left > 1 ? p[bCs] : 0.0f, left > 2 ? p[2 * bCs] : 0.0f, left > 3 ? p[3 * bCs] : 0.0f);
}

inline void store_c4(__global float* C, int row, int gc, int N, float4 acc, __global const float* bias,
                     float alpha, float beta, int biasRs, int biasCs, int hasBias, int act, float actAlpha, float actBeta,
                     __global const float* res, int hasRes) {
    float v[4];
    vstore4(alpha * acc, 0, v);
    for (int j = 0; j < 4 && gc + j < N; j++) {
        float y = v[j];
        if (hasBias) y += beta * bias[row * biasRs + (gc + j) * biasCs];
        if (act >= 0) y = apply_unary(act, y, actAlpha, actBeta);
        if (hasRes) y += res[row * N + gc + j];
        C[row * N + gc + j] = y;
    }
}

// C = act(alpha * op(A) op(B) + beta * bias) + res (A and B from element aOff and bOff on), act an
// apply_unary op (none when negative), batched with broadcast batch strides. A 16x16 output tile per
// work-group of 4x16: each work-item owns one row and four adjacent columns, B is staged through local
// memory as float4 (vload4 from global when contiguous) and A as rows of the tile.
__kernel __attribute__((reqd_work_group_size(TS / 4, TS, 1)))
void matmul_tiled(__global float* C, __global const float* A, __global const float* B, __global const float* bias,
                  int M, int N, int K, int aOff, int aRs, int aCs, int bOff, int bRs, int bCs,
                  int batchRank, int8 batchDims, int8 aBatch, int8 bBatch,
                  float alpha, float beta, int biasRs, int biasCs, int hasBias, int act, float actAlpha, float actBeta,
                  __global const float* res, int hasRes) {
    __local float As[TS][TS];
    __local float4 Bs[TS][TS / 4];
    int c4 = get_local_id(0), row = get_local_id(1);
    int gc = get_group_id(0) * TS + 4 * c4;
    int gr = get_group_id(1) * TS + row;
    int batch = get_global_id(2);
    int2 off = batch_offsets(batch, batchRank, batchDims, aBatch, bBatch);
    __global const float* a = A + aOff + off.x + gr * aRs;
    __global const float* b = B + bOff + off.y + gc * bCs;
    float4 acc = (float4) (0.0f);
    for (int t = 0; t < K; t += TS) {
        // this work-item stages A[gr][t + 4*c4 .. +3] and B[t + row][gc .. gc+3]
        int ak = t + 4 * c4;
        for (int j = 0; j < 4; j++) {
            As[row][4 * c4 + j] = (gr < M && ak + j < K) ? a[(ak + j) * aCs] : 0.0f;
        }
        int bk = t + row;
        Bs[row][c4] = (bk < K && gc < N) ? load_b4(b, bk, bRs, bCs, N - gc) : (float4) (0.0f);
        barrier(CLK_LOCAL_MEM_FENCE);
        for (int k = 0; k < TS; k++) {
            acc += As[row][k] * Bs[k][c4];
        }
        barrier(CLK_LOCAL_MEM_FENCE);
    }
    if (gr < M && gc < N) {
        store_c4(C + batch * M * N, gr, gc, N, acc, bias, alpha, beta, biasRs, biasCs, hasBias, act, actAlpha, actBeta,
                 res + batch * M * N, hasRes);
    }
}

// The same product for few rows (decoding: M = batch) when B's rows are contiguous (bCs = 1) and N >= 8:
// one work-item per eight adjacent outputs of a row, each k one vload8 of B, so every load is sequential
// and vectorised. The last work-item shifts left to stay inside the row instead of branching: it
// recomputes some of its neighbour's columns and writes the same values.
__kernel void matmul_rows(__global float* C, __global const float* A, __global const float* B, __global const float* bias,
                          int M, int N, int K, int aOff, int aRs, int aCs, int bOff, int bRs, int bCs,
                          int batchRank, int8 batchDims, int8 aBatch, int8 bBatch,
                          float alpha, float beta, int biasRs, int biasCs, int hasBias, int act, float actAlpha, float actBeta,
                          __global const float* res, int hasRes) {
    int gc = min(8 * (int) get_global_id(0), N - 8);
    int gr = get_global_id(1);
    int batch = get_global_id(2);
    int2 off = batch_offsets(batch, batchRank, batchDims, aBatch, bBatch);
    __global const float* a = A + aOff + off.x + gr * aRs;
    __global const float* b = B + bOff + off.y + gc;
    float8 acc = (float8) (0.0f);
    for (int k = 0; k < K; k++) acc += a[k * aCs] * vload8(0, b + k * bRs);
    acc *= alpha;
    if (hasBias) {
        __global const float* q = bias + gr * biasRs + gc * biasCs;
        acc += beta * (float8) (q[0], q[biasCs], q[2 * biasCs], q[3 * biasCs], q[4 * biasCs], q[5 * biasCs], q[6 * biasCs], q[7 * biasCs]);
    }
    if (act >= 0) {
        // element by element, the scalar code of the activation's own kernel
        float v[8];
        vstore8(acc, 0, v);
        for (int j = 0; j < 8; j++) v[j] = apply_unary(act, v[j], actAlpha, actBeta);
        acc = vload8(0, v);
    }
    if (hasRes) acc += vload8(0, res + (batch * M + gr) * N + gc);
    vstore8(acc, 0, C + (batch * M + gr) * N + gc);
}

// Softmax (or log-softmax) along an axis of length len between outer and inner dimensions.
__kernel void softmax(__global float* out, __global const float* in, int outer, int len, int inner, int logarithm) {
    int r = get_global_id(0);
    if (r >= outer * inner) return;
    int base = (r / inner) * len * inner + r % inner;
    float m = -INFINITY;
    for (int j = 0; j < len; j++) m = fmax(m, in[base + j * inner]);
    float s = 0.0f;
    for (int j = 0; j < len; j++) s += exp(in[base + j * inner] - m);
    if (logarithm) {
        float ls = log(s);
        for (int j = 0; j < len; j++) out[base + j * inner] = in[base + j * inner] - m - ls;
    } else {
        float inv = 1.0f / s;
        for (int j = 0; j < len; j++) out[base + j * inner] = exp(in[base + j * inner] - m) * inv;
    }
}

// Reduction along one axis: 0 sum, 1 mean, 2 max, 3 min, 4 product, 5 sum of squares.
__kernel void reduce_axis(__global float* out, __global const float* in, int outer, int len, int inner, int op) {
    int r = get_global_id(0);
    if (r >= outer * inner) return;
    int base = (r / inner) * len * inner + r % inner;
    float acc = op == 2 ? -INFINITY : op == 3 ? INFINITY : op == 4 ? 1.0f : 0.0f;
    for (int j = 0; j < len; j++) {
        float v = in[base + j * inner];
        switch (op) {
            case 2: acc = fmax(acc, v); break;
            case 3: acc = fmin(acc, v); break;
            case 4: acc *= v; break;
            case 5: acc += v * v; break;
            default: acc += v; break;
        }
    }
    out[r] = op == 1 ? acc / len : acc;
}

inline void normalize_row(__global float* y, __global const float* x, __global const float* gamma, __global const float* beta,
                          int cols, float eps, int hasBeta) {
    float mean = 0.0f;
    for (int j = 0; j < cols; j++) mean += x[j];
    mean /= cols;
    float var = 0.0f;
    for (int j = 0; j < cols; j++) {
        float d = x[j] - mean;
        var += d * d;
    }
    float inv = rsqrt(var / cols + eps);
    for (int j = 0; j < cols; j++) {
        y[j] = (x[j] - mean) * inv * gamma[j] + (hasBeta ? beta[j] : 0.0f);
    }
}

__kernel void layer_norm(__global float* out, __global const float* in, __global const float* gamma, __global const float* beta,
                         int rows, int cols, float eps, int hasBeta) {
    int r = get_global_id(0);
    if (r >= rows) return;
    normalize_row(out + r * cols, in + r * cols, gamma, beta, cols, eps, hasBeta);
}

// com.microsoft SkipLayerNormalization: sum = x + skip (+ bias), written when wanted, then normalised.
__kernel void skip_layer_norm(__global float* out, __global float* sum, __global const float* x, __global const float* skip,
                              __global const float* gamma, __global const float* beta, __global const float* bias,
                              int rows, int cols, int skipRows, float eps, int hasBeta, int hasBias) {
    int r = get_global_id(0);
    if (r >= rows) return;
    __global float* s = sum + r * cols;
    __global const float* sk = skip + (r % skipRows) * cols;
    for (int j = 0; j < cols; j++) {
        s[j] = x[r * cols + j] + sk[j] + (hasBias ? bias[j] : 0.0f);
    }
    normalize_row(out + r * cols, s, gamma, beta, cols, eps, hasBeta);
}

// com.microsoft EmbedLayerNormalization: word + position (+ segment) embeddings, then normalised.
__kernel void embed_layer_norm(__global float* out, __global float* sum, __global const int* ids, __global const int* segments,
                               __global const int* positions, __global const float* word, __global const float* pos,
                               __global const float* seg, __global const float* gamma, __global const float* beta,
                               int rows, int seqLen, int hidden, float eps, int hasSegments, int hasPositions) {
    int r = get_global_id(0);
    if (r >= rows) return;
    int p = hasPositions ? positions[r] : r % seqLen;
    __global const float* w = word + ids[r] * hidden;
    __global const float* q = pos + p * hidden;
    __global float* s = sum + r * hidden;
    for (int j = 0; j < hidden; j++) {
        s[j] = w[j] + q[j] + (hasSegments ? seg[segments[r] * hidden + j] : 0.0f);
    }
    normalize_row(out + r * hidden, s, gamma, beta, hidden, eps, 1);
}

// Row t of head h's keys (kv 0) or values (kv 1): the past's for t < P, else the new ones in qkv[B, S, 3H].
inline __global const float* kv_row(__global const float* qkv, __global const float* past, int kv, int b, int h, int t,
                                    int B, int N, int S, int P, int hd) {
    int H = N * hd;
    return t < P ? past + (((kv * B + b) * N + h) * P + t) * hd : qkv + (b * S + t - P) * 3 * H + (1 + kv) * H + h * hd;
}

// One work-item per (batch, head, query): scaled dot products, masks, softmax, weighted values. Keys and
// values are read where they come from, so the work-item also writes the rows t = s, s + S, ... of
// present[2, B, N, P+S, hd] (past rows, then new ones) without a launch of its own.
__kernel void attention(__global float* out, __global float* scores, __global const float* qkv, __global const float* past,
                        __global float* present, __global const int* mask, int B, int N, int S, int P, int hd, float scale,
                        int unidirectional, float maskFilter, int maskRank) {
    int i = get_global_id(0);
    if (i >= B * N * S) return;
    int s = i % S;
    int h = (i / S) % N;
    int b = i / (S * N);
    int T = P + S, H = N * hd;
    for (int t = s; t < T; t += S) {
        for (int kv = 0; kv < 2; kv++) {
            __global const float* r = kv_row(qkv, past, kv, b, h, t, B, N, S, P, hd);
            __global float* w = present + (((kv * B + b) * N + h) * T + t) * hd;
            for (int d = 0; d < hd; d++) w[d] = r[d];
        }
    }
    __global const float* q = qkv + (b * S + s) * 3 * H + h * hd;
    __global float* p = scores + i * T;
    float m = -INFINITY;
    for (int t = 0; t < T; t++) {
        __global const float* k = kv_row(qkv, past, 0, b, h, t, B, N, S, P, hd);
        float dot = 0.0f;
        for (int d = 0; d < hd; d++) dot += q[d] * k[d];
        float x = dot * scale;
        if (maskRank == 2 && mask[b * T + t] == 0) x += maskFilter;
        if (maskRank == 3 && mask[(b * S + s) * T + t] == 0) x += maskFilter;
        if (unidirectional && t > P + s) x += maskFilter;
        p[t] = x;
        m = fmax(m, x);
    }
    float sum = 0.0f;
    for (int t = 0; t < T; t++) {
        p[t] = exp(p[t] - m);
        sum += p[t];
    }
    float inv = 1.0f / sum;
    __global float* o = out + (b * S + s) * H + h * hd;
    for (int d = 0; d < hd; d++) {
        float acc = 0.0f;
        for (int t = 0; t < T; t++) acc += p[t] * kv_row(qkv, past, 1, b, h, t, B, N, S, P, hd)[d];
        o[d] = acc * inv;
    }
}

// Direct 2-D convolution, NCHW, grouped, with dilations and padding; one work-item per output value.
__kernel void conv2d(__global float* out, __global const float* x, __global const float* w, __global const float* bias,
                     int C, int H, int W, int M, int KH, int KW, int OH, int OW, int sh, int sw, int ph, int pw,
                     int dh, int dw, int groups, int hasBias, int n) {
    int i = get_global_id(0);
    if (i >= n) return;
    int ow = i % OW;
    int oh = (i / OW) % OH;
    int m = (i / (OW * OH)) % M;
    int b = i / (OW * OH * M);
    int cpg = C / groups;
    int g = m / (M / groups);
    float acc = hasBias ? bias[m] : 0.0f;
    for (int c = 0; c < cpg; c++) {
        __global const float* xc = x + ((b * C + g * cpg + c) * H) * W;
        __global const float* wc = w + ((m * cpg + c) * KH) * KW;
        for (int kh = 0; kh < KH; kh++) {
            int ih = oh * sh - ph + kh * dh;
            if (ih < 0 || ih >= H) continue;
            for (int kw = 0; kw < KW; kw++) {
                int iw = ow * sw - pw + kw * dw;
                if (iw < 0 || iw >= W) continue;
                acc += xc[ih * W + iw] * wc[kh * KW + kw];
            }
        }
    }
    out[i] = acc;
}

// 2-D max (mode 0) or average (mode 1) pooling; an average counts padding only with countPad.
__kernel void pool2d(__global float* out, __global const float* x, int H, int W, int KH, int KW, int OH, int OW,
                     int sh, int sw, int ph, int pw, int mode, int countPad, int n) {
    int i = get_global_id(0);
    if (i >= n) return;
    int ow = i % OW;
    int oh = (i / OW) % OH;
    int bc = i / (OW * OH);
    __global const float* xc = x + bc * H * W;
    float acc = mode == 0 ? -INFINITY : 0.0f;
    int count = 0;
    for (int kh = 0; kh < KH; kh++) {
        int ih = oh * sh - ph + kh;
        for (int kw = 0; kw < KW; kw++) {
            int iw = ow * sw - pw + kw;
            bool inside = ih >= 0 && ih < H && iw >= 0 && iw < W;
            if (inside) {
                float v = xc[ih * W + iw];
                acc = mode == 0 ? fmax(acc, v) : acc + v;
                count++;
            } else if (countPad && ih < H + ph && iw < W + pw) {
                count++;
            }
        }
    }
    out[i] = mode == 0 ? acc : acc / (float) max(count, 1);
}

// Group normalisation over (channels of a group) x spatial; scale/bias per channel or per group.
__kernel void group_norm(__global float* out, __global const float* x, __global const float* scale, __global const float* bias,
                         int C, int G, int spatial, float eps, int perChannel, int rows) {
    int r = get_global_id(0);
    if (r >= rows) return;
    int g = r % G;
    int cpg = C / G;
    int count = cpg * spatial;
    int base = r * count;
    float mean = 0.0f;
    for (int j = 0; j < count; j++) mean += x[base + j];
    mean /= count;
    float var = 0.0f;
    for (int j = 0; j < count; j++) {
        float d = x[base + j] - mean;
        var += d * d;
    }
    float inv = rsqrt(var / count + eps);
    for (int j = 0; j < count; j++) {
        int c = g * cpg + j / spatial;
        int p = perChannel ? c : g;
        out[base + j] = (x[base + j] - mean) * inv * scale[p] + bias[p];
    }
}

__kernel void trilu(__global float* out, __global const float* in, int rows, int cols, int k, int upper, int n) {
    int i = get_global_id(0);
    if (i >= n) return;
    int c = i % cols;
    int r = (i / cols) % rows;
    int keep = upper ? (c - r >= k) : (c - r <= k);
    out[i] = keep ? in[i] : 0.0f;
}

// Resize of the two innermost dimensions. transform: 0 half_pixel, 1 asymmetric, 2 align_corners, 3 pytorch_half_pixel;
// nearest: 0 round_prefer_floor, 1 round_prefer_ceil, 2 floor, 3 ceil; linear: bilinear interpolation.
inline float source_coord(int o, float scale, int inLen, int outLen, int transform) {
    switch (transform) {
        case 1: return o / scale;
        case 2: return outLen == 1 ? 0.0f : o * (float) (inLen - 1) / (float) (outLen - 1);
        case 3: return outLen > 1 ? (o + 0.5f) / scale - 0.5f : 0.0f;
        default: return (o + 0.5f) / scale - 0.5f;
    }
}

inline int nearest_index(float x, int mode, int len) {
    int i;
    switch (mode) {
        case 1: i = (int) floor(x + 0.5f); break;
        case 2: i = (int) floor(x); break;
        case 3: i = (int) ceil(x); break;
        default: i = (x == floor(x) + 0.5f) ? (int) floor(x) : (int) round(x); break;
    }
    return clamp(i, 0, len - 1);
}

__kernel void resize2d(__global float* out, __global const float* in, int H, int W, int OH, int OW, float sh, float sw,
                       int transform, int linear, int nearestMode, int n) {
    int i = get_global_id(0);
    if (i >= n) return;
    int ow = i % OW;
    int oh = (i / OW) % OH;
    int plane = i / (OW * OH);
    __global const float* src = in + plane * H * W;
    float y = source_coord(oh, sh, H, OH, transform);
    float x = source_coord(ow, sw, W, OW, transform);
    if (!linear) {
        out[i] = src[nearest_index(y, nearestMode, H) * W + nearest_index(x, nearestMode, W)];
        return;
    }
    y = clamp(y, 0.0f, (float) (H - 1));
    x = clamp(x, 0.0f, (float) (W - 1));
    int y0 = (int) floor(y), x0 = (int) floor(x);
    int y1 = min(y0 + 1, H - 1), x1 = min(x0 + 1, W - 1);
    float fy = y - y0, fx = x - x0;
    float top = src[y0 * W + x0] * (1.0f - fx) + src[y0 * W + x1] * fx;
    float bottom = src[y1 * W + x0] * (1.0f - fx) + src[y1 * W + x1] * fx;
    out[i] = top * (1.0f - fy) + bottom * fy;
}
