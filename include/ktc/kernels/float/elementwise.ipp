// ktc/kernels/float/elementwise.ipp - the definitions behind elementwise.hpp (compiled once in src/, or
// included by the header when header-only: core/config.hpp).
#pragma once

#include "ktc/kernels/float/elementwise.hpp"

namespace ktc::kernels::floating {

KTC_DECL void add_elementwise_kernels(kernel_table& t) {
    namespace e = elementwise;
    t["Add"] = &e::add;
    t["Sub"] = &e::sub;
    t["Mul"] = &e::mul;
    t["Div"] = &e::div;
    t["Pow"] = &e::pow;
    t["Mod"] = &e::mod;
    t["Max"] = &e::max;
    t["Min"] = &e::min;
    t["Sum"] = &e::sum;
    t["Mean"] = &e::mean;
    t["Equal"] = &e::equal;
    t["Less"] = &e::less;
    t["Greater"] = &e::greater;
    t["LessOrEqual"] = &e::less_or_equal;
    t["GreaterOrEqual"] = &e::greater_or_equal;
    t["And"] = &e::logical_and;
    t["Or"] = &e::logical_or;
    t["Xor"] = &e::logical_xor;
    t["Not"] = &e::logical_not;
    t["Where"] = &e::where;
    t["Relu"] = &e::relu;
    t["LeakyRelu"] = &e::leaky_relu;
    t["PRelu"] = &e::prelu;
    t["Sigmoid"] = &e::sigmoid;
    t["HardSigmoid"] = &e::hard_sigmoid;
    t["HardSwish"] = &e::hard_swish;
    t["Tanh"] = &e::tanh;
    t["Clip"] = &e::clip;
    t["Elu"] = &e::elu;
    t["Selu"] = &e::selu;
    t["Celu"] = &e::celu;
    t["Softplus"] = &e::softplus;
    t["Softsign"] = &e::softsign;
    t["ThresholdedRelu"] = &e::thresholded_relu;
    t["Shrink"] = &e::shrink;
    t["Abs"] = &e::abs;
    t["Neg"] = &e::neg;
    t["Exp"] = &e::exp;
    t["Log"] = &e::log;
    t["Sqrt"] = &e::sqrt;
    t["Reciprocal"] = &e::reciprocal;
    t["Floor"] = &e::floor;
    t["Ceil"] = &e::ceil;
    t["Round"] = &e::round;
    t["Sign"] = &e::sign;
    t["Erf"] = &e::erf;
    t["Sin"] = &e::sin;
    t["Cos"] = &e::cos;
    t["Tan"] = &e::tan;
    t["Asin"] = &e::asin;
    t["Acos"] = &e::acos;
    t["Atan"] = &e::atan;
    t["Sinh"] = &e::sinh;
    t["Cosh"] = &e::cosh;
    t["Asinh"] = &e::asinh;
    t["Acosh"] = &e::acosh;
    t["Atanh"] = &e::atanh;
    t["IsNaN"] = &e::is_nan;
    t["IsInf"] = &e::is_inf;
}

}  // namespace ktc::kernels::floating
