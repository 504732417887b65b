// CPU shim: lets g++ compile unchanged generated CUDA C++ and run it on the host.
//
// Blocks run one after another; every CUDA thread of a block is one std::thread; a
// std::barrier stands in for __syncthreads(); thread and block indices are thread-locals.
// Because blocks never overlap in time, a function-local `static` array is a correct
// stand-in for `__shared__` memory.
#pragma once

#include <algorithm>
#include <barrier>
#include <cmath>
#include <cstdint>
#include <thread>
#include <vector>

#define CUDA_SHIM 1

struct dim3 {
    unsigned x, y, z;
    constexpr dim3(unsigned x_ = 1, unsigned y_ = 1, unsigned z_ = 1) : x(x_), y(y_), z(z_) {}
};

namespace cuda_shim {
inline thread_local dim3 thread_index{0, 0, 0};
inline thread_local dim3 block_index{0, 0, 0};
inline dim3 block_dim{1, 1, 1};
inline dim3 grid_dim{1, 1, 1};
inline std::barrier<>* block_barrier = nullptr;

// Run `body` once per CUDA thread of every block of `grid`, blocks one after another.
template <class Body>
void launch(dim3 grid, dim3 block, Body body) {
    grid_dim = grid;
    block_dim = block;
    const unsigned threads = block.x * block.y * block.z;
    for (unsigned bz = 0; bz < grid.z; ++bz)
        for (unsigned by = 0; by < grid.y; ++by)
            for (unsigned bx = 0; bx < grid.x; ++bx) {
                std::barrier<> barrier(static_cast<std::ptrdiff_t>(threads));
                block_barrier = &barrier;
                std::vector<std::thread> workers;
                workers.reserve(threads);
                for (unsigned t = 0; t < threads; ++t) {
                    const dim3 tid(t % block.x, (t / block.x) % block.y, t / (block.x * block.y));
                    const dim3 bid(bx, by, bz);
                    workers.emplace_back([tid, bid, &body] {
                        thread_index = tid;
                        block_index = bid;
                        body();
                    });
                }
                for (auto& worker : workers) worker.join();
                block_barrier = nullptr;
            }
}
}  // namespace cuda_shim

#define threadIdx (::cuda_shim::thread_index)
#define blockIdx (::cuda_shim::block_index)
#define blockDim (::cuda_shim::block_dim)
#define gridDim (::cuda_shim::grid_dim)

#define __global__
#define __device__
#define __host__
#define __forceinline__ inline
#define __shared__ static
#define __restrict__ __restrict
#define __launch_bounds__(...)

inline void __syncthreads() { ::cuda_shim::block_barrier->arrive_and_wait(); }
inline float __expf(float x) { return std::exp(x); }
inline float __int_as_float(int bits) {
    float out;
    __builtin_memcpy(&out, &bits, sizeof out);
    return out;
}

using std::max;
using std::min;

using __half = _Float16;
inline float __half2float(__half h) { return static_cast<float>(h); }
inline __half __float2half(float f) { return static_cast<__half>(f); }
