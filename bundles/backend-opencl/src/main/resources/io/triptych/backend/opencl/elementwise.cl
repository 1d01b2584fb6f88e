// Element-wise operations shared by kernels.cl and the kernels generated for fused element-wise
// chains (ElementwiseChain), so that a fused chain runs the same float operations as the unfused kernels.

inline float apply_binary(int op, float a, float b) {
    switch (op) {
        case 0: return a + b;
        case 1: return a - b;
        case 2: return a * b;
        case 3: return a / b;
        case 4:
            if (b == 2.0f) return a * a;
            if (b == 0.5f) return sqrt(a);
            if (b == floor(b) && fabs(b) < 65536.0f) return pown(a, (int) b);
            return pow(a, b);
        case 5: return fmax(a, b);
        case 6: return fmin(a, b);
        case 7: return a < 0.0f ? a * b : a;
        default: return fmod(a, b);
    }
}

inline float gelu_tanh(float x) {
    return 0.5f * x * (1.0f + tanh(0.7978845608028654f * (x + 0.044715f * x * x * x)));
}

inline float apply_unary(int op, float x, float alpha, float beta) {
    float y;
    switch (op) {
        case 0: y = -x; break;
        case 1: y = fabs(x); break;
        case 2: y = sqrt(x); break;
        case 3: y = exp(x); break;
        case 4: y = log(x); break;
        case 5: y = tanh(x); break;
        case 6: y = erf(x); break;
        case 7: y = fmax(x, 0.0f); break;
        case 8: y = 1.0f / (1.0f + exp(-x)); break;
        case 9: y = 1.0f / x; break;
        case 10: y = floor(x); break;
        case 11: y = ceil(x); break;
        case 12: y = sin(x); break;
        case 13: y = cos(x); break;
        case 14: y = x < 0.0f ? alpha * x : x; break;
        case 15: y = fmin(fmax(x, alpha), beta); break;
        case 16: y = 0.5f * x * (1.0f + erf(x * 0.7071067811865476f)); break;
        case 17: y = gelu_tanh(x); break;
        case 18: y = x > 20.0f ? x : log1p(exp(x)); break;
        case 19: y = x < 0.0f ? alpha * (exp(x) - 1.0f) : x; break;
        case 20: y = fmax(0.0f, fmin(1.0f, alpha * x + beta)); break;
        case 21: y = rint(x); break;
        case 22: y = x > 0.0f ? 1.0f : (x < 0.0f ? -1.0f : 0.0f); break;
        case 23: y = x / (1.0f + fabs(x)); break;
        case 24: y = x * fmax(0.0f, fmin(1.0f, x / 6.0f + 0.5f)); break;
        default: y = x; break;
    }
    return y;
}
