// ktc/ktc.hpp - everything: the seed-shaped API (ktc/api.hpp) and the converter flows
// (ktc/api/convert.hpp). Link ktc::convert; ktc/api.hpp alone needs only ktc::ktc.
#pragma once

#include "ktc/api.hpp"
#include "ktc/api/convert.hpp"
