// src/eval.cpp - the evaluator (support check, cost model, reports), compiled once for ktc's own binaries
// (core/config.hpp: ktc's own binaries are built with KTC_SEPARATE_COMPILATION).
#include "ktc/eval/support.ipp"
#include "ktc/eval/cost.ipp"
#include "ktc/eval/report.ipp"
