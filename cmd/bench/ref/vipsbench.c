/* Times libvips on one job, in one process: thumbnail a file's bytes to size x size and save
 * JPEG Q90, as many times as fit in the given seconds. Prints nanoseconds per operation.
 * Built and run by cmd/bench (make bench); never part of the service. */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <vips/vips.h>

static double now(void) {
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec + t.tv_nsec / 1e9;
}

int main(int argc, char **argv) {
	if (argc != 4 || VIPS_INIT(argv[0]))
		return 2;
	vips_cache_set_max(0); /* every iteration does the whole job */
	vips_concurrency_set(1);
	gchar *buf;
	gsize len;
	if (!g_file_get_contents(argv[1], &buf, &len, NULL))
		return 2;
	int size = atoi(argv[2]);
	double seconds = atof(argv[3]);
	long n = 0;
	double start = now();
	do {
		VipsImage *out;
		void *jpg;
		size_t jlen;
		if (vips_thumbnail_buffer(buf, len, &out, size, "height", size, "size", VIPS_SIZE_FORCE, NULL) ||
		    vips_jpegsave_buffer(out, &jpg, &jlen, "Q", 90, NULL)) {
			fprintf(stderr, "%s\n", vips_error_buffer());
			return 1;
		}
		g_free(jpg);
		g_object_unref(out);
		n++;
	} while (now() - start < seconds);
	printf("%.0f\n", (now() - start) / n * 1e9);
	return 0;
}
