/* Classify the test digits with the exported model, fine-tune it for an epoch in C, save it.
 *
 *   ./out/digits_demo [out]        (run train_and_export.py, then build.sh, first)
 *
 * Uses only the C API in out/digits/digits.h: no Python, no NumPy, no stage.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "digits.h"

#define FEATURES 64
#define BATCH 32

static void* read_file(const char* dir, const char* name, size_t* count, size_t item) {
  char path[4096];
  snprintf(path, sizeof path, "%s/%s", dir, name);
  FILE* f = fopen(path, "rb");
  if (!f) { fprintf(stderr, "cannot open %s (run train_and_export.py first)\n", path); exit(1); }
  fseek(f, 0, SEEK_END);
  long bytes = ftell(f);
  fseek(f, 0, SEEK_SET);
  void* data = malloc((size_t)bytes);
  if (!data || fread(data, 1, (size_t)bytes, f) != (size_t)bytes) { fprintf(stderr, "cannot read %s\n", path); exit(1); }
  fclose(f);
  *count = (size_t)bytes / item;
  return data;
}

static double accuracy(digits_model* m, const float* x, const int64_t* y, size_t n) {
  size_t correct = 0;
  for (size_t i = 0; i < n; ++i) {
    int64_t label;
    if (digits_classify(m, x + i * FEATURES, &label) != DIGITS_OK) {
      fprintf(stderr, "classify: %s\n", digits_error(m));
      exit(1);
    }
    correct += label == y[i];
  }
  return (double)correct / (double)n;
}

int main(int argc, char** argv) {
  const char* out = argc > 1 ? argv[1] : "out";
  char path[4096], err[512];
  size_t n_test, n_test_y, n_train, n_train_y;
  float* test_x = read_file(out, "test_x.f32", &n_test, sizeof(float) * FEATURES);
  int64_t* test_y = read_file(out, "test_y.i64", &n_test_y, sizeof(int64_t));
  float* train_x = read_file(out, "train_x.f32", &n_train, sizeof(float) * FEATURES);
  int64_t* train_y = read_file(out, "train_y.i64", &n_train_y, sizeof(int64_t));

  snprintf(path, sizeof path, "%s/digits/digits.safetensors", out);
  digits_model* m = digits_create(path, err, sizeof err);
  if (!m) { fprintf(stderr, "%s\n", err); return 1; }
  printf("exported model: test accuracy %.4f (%zu digits)\n", accuracy(m, test_x, test_y, n_test), n_test);

  /* one more epoch of SGD, in C, on the handle's own parameters (in order, no shuffling) */
  float loss = 0;
  for (size_t b = 0; b + BATCH <= n_train; b += BATCH) {
    if (digits_train_step(m, train_x + b * FEATURES, train_y + b, 0.05f, &loss) != DIGITS_OK) {
      fprintf(stderr, "train_step: %s\n", digits_error(m));
      return 1;
    }
  }
  printf("after one more epoch in C: loss %.4f, test accuracy %.4f\n", loss,
         accuracy(m, test_x, test_y, n_test));

  snprintf(path, sizeof path, "%s/digits_finetuned.safetensors", out);
  if (digits_save_params(m, path) != DIGITS_OK) { fprintf(stderr, "%s\n", digits_error(m)); return 1; }
  printf("saved %s\n", path);

  /* errors are return codes with a message, never an abort */
  int rc = digits_classify(m, NULL, NULL);
  printf("classify(NULL) -> %d: %s\n", rc, digits_error(m));

  digits_destroy(m);
  free(test_x); free(test_y); free(train_x); free(train_y);
  return 0;
}
