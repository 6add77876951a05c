// ktc/kernels/float/reduce.ipp - the definitions behind reduce.hpp (compiled once in src/, or
// included by the header when header-only: core/config.hpp).
#pragma once

#include "ktc/kernels/float/reduce.hpp"

namespace ktc::kernels::floating {

KTC_DECL void add_reduce_kernels(kernel_table& t) {
    namespace r = reduction;
    t["ReduceSum"] = &r::reduce<r::kind::sum>;
    t["ReduceMean"] = &r::reduce<r::kind::mean>;
    t["ReduceMax"] = &r::reduce<r::kind::max>;
    t["ReduceMin"] = &r::reduce<r::kind::min>;
    t["ReduceProd"] = &r::reduce<r::kind::prod>;
    t["ReduceL1"] = &r::reduce<r::kind::l1>;
    t["ReduceL2"] = &r::reduce<r::kind::l2>;
    t["ReduceLogSum"] = &r::reduce<r::kind::log_sum>;
    t["ReduceLogSumExp"] = &r::reduce<r::kind::log_sum_exp>;
    t["ReduceSumSquare"] = &r::reduce<r::kind::sum_square>;
    t["ArgMax"] = &r::arg_extreme<true>;
    t["ArgMin"] = &r::arg_extreme<false>;
    t["Softmax"] = &r::softmax_family<r::softmax_kind::softmax>;
    t["LogSoftmax"] = &r::softmax_family<r::softmax_kind::log_softmax>;
    t["Hardmax"] = &r::softmax_family<r::softmax_kind::hardmax>;
    t["CumSum"] = &r::cumsum;
}

}  // namespace ktc::kernels::floating
