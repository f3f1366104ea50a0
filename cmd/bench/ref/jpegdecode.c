/* Times libjpeg(-turbo) decoding one JPEG file's bytes to YCbCr at 1/denom of its size, as many
 * times as fit in the given seconds: the decode alone, for comparison with image/jpeg. Prints
 * nanoseconds per decode. Built and run by cmd/bench (make bench); never part of the service. */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <jpeglib.h>

static double now(void) {
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec + t.tv_nsec / 1e9;
}

int main(int argc, char **argv) {
	if (argc != 4)
		return 2;
	FILE *f = fopen(argv[1], "rb");
	if (!f)
		return 2;
	fseek(f, 0, SEEK_END);
	long len = ftell(f);
	fseek(f, 0, SEEK_SET);
	unsigned char *buf = malloc(len);
	if (fread(buf, 1, len, f) != (size_t)len)
		return 2;
	fclose(f);
	int denom = atoi(argv[2]);
	double seconds = atof(argv[3]);
	unsigned char *out = NULL;
	long n = 0;
	double start = now();
	do {
		struct jpeg_decompress_struct cinfo;
		struct jpeg_error_mgr jerr;
		cinfo.err = jpeg_std_error(&jerr);
		jpeg_create_decompress(&cinfo);
		jpeg_mem_src(&cinfo, buf, len);
		jpeg_read_header(&cinfo, TRUE);
		cinfo.scale_num = 1;
		cinfo.scale_denom = denom;
		cinfo.out_color_space = JCS_YCbCr;
		jpeg_start_decompress(&cinfo);
		int stride = cinfo.output_width * cinfo.output_components;
		if (!out)
			out = malloc((size_t)stride * cinfo.output_height);
		while (cinfo.output_scanline < cinfo.output_height) {
			unsigned char *row = out + (size_t)cinfo.output_scanline * stride;
			jpeg_read_scanlines(&cinfo, &row, 1);
		}
		jpeg_finish_decompress(&cinfo);
		jpeg_destroy_decompress(&cinfo);
		n++;
	} while (now() - start < seconds);
	printf("%.0f\n", (now() - start) / n * 1e9);
	return 0;
}
