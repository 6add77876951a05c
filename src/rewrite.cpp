// src/rewrite.cpp - the optimizer's flows and the graph editor, compiled once for ktc's own binaries
// (core/config.hpp: ktc's own binaries are built with KTC_SEPARATE_COMPILATION).
#include "ktc/rewrite/flows.ipp"
#include "ktc/rewrite/editor.ipp"
