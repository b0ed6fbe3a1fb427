/*
 * template_shape.c - the 68 landmarks of an upright face in the 150 x 150
 * chip of face-api's own pipeline (landmarks' box grown by 20 %, padded to
 * a centred square, resized to 150), averaged over the faces with less than
 * 5 degrees of roll among the ORL images (a data set separate from the LFW
 * evaluation pairs), made left-right symmetric, then moved down by 9.27
 * pixels so that the eye centres sit 0.524 eye distances above the chip's
 * centre, as in dlib's face chips (the geometry this network was trained
 * on; the scale already agreed: half the chip is 0.963 * 1.5 = 1.445 eye
 * distances).  docs/face.md tells how to measure it again.
 */
#include "face/template_shape.h"

const double face_template_shape[HUELLA_FACE_LANDMARKS][2] = {
    {12.64, 49.89},   {13.79, 66.35},   {16.47, 81.74},   {19.34, 95.77},  {24.83, 110.92},
    {33.35, 122.65},  {43.27, 130.26},  {55.89, 137.58},  {75.00, 142.18}, {94.11, 137.58},
    {106.73, 130.26}, {116.65, 122.65}, {125.16, 110.92}, {130.66, 95.77}, {133.53, 81.74},
    {136.21, 66.35},  {137.36, 49.89},  {25.80, 34.47},   {32.98, 29.47},  {42.80, 27.66},
    {51.54, 28.35},   {59.46, 30.91},   {90.53, 30.91},   {98.46, 28.35},  {107.20, 27.66},
    {117.01, 29.47},  {124.20, 34.47},  {75.00, 47.16},   {75.00, 57.49},  {75.00, 67.36},
    {75.00, 76.63},   {64.72, 83.15},   {69.29, 84.47},   {75.00, 85.70},  {80.71, 84.47},
    {85.28, 83.15},   {38.09, 46.55},   {43.56, 43.74},   {51.53, 43.54},  {58.48, 47.27},
    {52.21, 49.43},   {44.01, 49.57},   {91.52, 47.27},   {98.47, 43.54},  {106.44, 43.74},
    {111.91, 46.55},  {105.99, 49.57},  {97.78, 49.43},   {51.86, 103.12}, {60.12, 99.55},
    {70.09, 96.59},   {75.00, 97.77},   {79.91, 96.59},   {89.88, 99.55},  {98.14, 103.12},
    {89.53, 108.80},  {82.28, 111.66},  {75.00, 112.51},  {67.72, 111.66}, {60.47, 108.80},
    {53.51, 103.04},  {68.01, 102.12},  {75.00, 102.03},  {81.99, 102.12}, {96.50, 103.04},
    {81.77, 104.80},  {75.00, 105.22},  {68.23, 104.80},
};
