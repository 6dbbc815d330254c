/*
 * Worst-case work per packet: judge_packet() on each class of hostile input
 * of test/unit/hostile.c, against a normal client query and upstream query
 * measured in the same run.  Prints its conditions, then per class the
 * median over RUNS runs of the time per packet and its ratio to the normal
 * query.  The judge is the daemon's, with its default sizes; the victim of
 * hostile.h waits, so that responses are learned from as far as they allow.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <ldns/ldns.h>

#include "hostile.h"
#include "judge.h"
#include "options.h"

#define RUNS 7
#define RUN_NS 20000000.0	/* aim for 20 ms per class per run */
#define MIN_ITERATIONS 50
#define MAX_ITERATIONS 200000
#define MAX_VARIANTS 41
#define NORMAL_NAME "www.example.test"

struct input {
	unsigned int hook;
	uint32_t mark;
	uint8_t *data;
	size_t len;
};

/* What is timed: one or more packets fed in turn. */
struct class {
	const char *name;
	struct input inputs[MAX_VARIANTS];
	size_t count;
	unsigned long iterations;	/* packets per run */
	double ns[RUNS];		/* per packet, each run */
};

static struct judge judge;
static struct stats stats;
static volatile uint32_t sink;

static double
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static void
input_set(struct input *in, unsigned int hook, uint32_t mark,
    const uint8_t *packet, size_t len)
{
	in->hook = hook;
	in->mark = mark;
	in->len = len;
	in->data = malloc(len > 0 ? len : 1);
	if (in->data == NULL) {
		perror("malloc");
		exit(1);
	}
	memcpy(in->data, packet, len);
}

/* Feeds packets of class c, round robin; returns ns per packet. */
static double
run(struct class *c, unsigned long packets, uint64_t now_ms)
{
	double start, end;

	start = now_ns();
	for (unsigned long i = 0; i < packets; i++) {
		const struct input *in = &c->inputs[i % c->count];
		struct judge_packet pkt = {
			.hook = in->hook,
			.data = in->data,
			.len = in->len,
			.mark = in->mark,
		};

		sink += judge_packet(&judge, &pkt, now_ms).mark;
	}
	end = now_ns();
	return (end - start) / (double)packets;
}

static int
compare_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double
median(const double *values, size_t n)
{
	double sorted[RUNS];

	memcpy(sorted, values, n * sizeof(*values));
	qsort(sorted, n, sizeof(*sorted), compare_double);
	return sorted[n / 2];
}

static void
print_conditions(void)
{
	char line[256], cpu[256] = "unknown";
	FILE *f = fopen("/proc/cpuinfo", "r");

	while (f != NULL && fgets(line, sizeof(line), f) != NULL) {
		char *colon = strchr(line, ':');

		if (strncmp(line, "model name", 10) == 0 && colon != NULL) {
			snprintf(cpu, sizeof(cpu), "%s", colon + 2);
			cpu[strcspn(cpu, "\n")] = '\0';
			break;
		}
	}
	if (f != NULL)
		fclose(f);
	printf("judge_packet() per packet: hostile input against a normal "
	    "query pair\n");
	printf("cpu: %s, %ld online\n", cpu, sysconf(_SC_NPROCESSORS_ONLN));
	printf("build: %s%s%s, ldns %s\n",
#if defined(__clang__)
	    "clang " __clang_version__,
#elif defined(__GNUC__)
	    "gcc " __VERSION__,
#else
	    "cc",
#endif
#if defined(__OPTIMIZE__)
	    ", optimised",
#else
	    ", not optimised",
#endif
#if defined(__SANITIZE_ADDRESS__)
	    ", with AddressSanitizer (times are not representative)",
#else
	    "",
#endif
	    ldns_version());
	printf("judge: max_pending %d, timeout %d ms, recent %d ms; the "
	    "victim waits\n", OPTIONS_DEFAULT_MAX_PENDING,
	    OPTIONS_DEFAULT_TIMEOUT_MS, OPTIONS_DEFAULT_RECENT_MS);
	printf("runs: %d, classes interleaved in each run; iterations per class"
	    " chosen for ~%.0f ms a run;\n", RUNS, RUN_NS / 1e6);
	printf("each value: median over the runs; ratio: to the normal query "
	    "pair's median\n\n");
}

int
main(void)
{
	static uint8_t packet[HOSTILE_PACKET_MAX];
	struct judge_config config;
	struct class *classes;
	size_t class_count = hostile_case_count + 1;
	uint64_t now_ms = 1000;
	double normal;

	memset(&config, 0, sizeof(config));
	config.max_pending = OPTIONS_DEFAULT_MAX_PENDING;
	config.timeout_ms = OPTIONS_DEFAULT_TIMEOUT_MS;
	config.recent_ms = OPTIONS_DEFAULT_RECENT_MS;
	config.policy.conflict = ATTRIB_CONFLICT_NONE;
	config.mask = 0xffffffffu;
	for (size_t i = 0; i < sizeof(config.key); i++)
		config.key[i] = (uint8_t)(0x5a + i);
	if (judge_init(&judge, &config, &stats) != 0) {
		fprintf(stderr, "judge_init failed\n");
		return 1;
	}

	classes = calloc(class_count, sizeof(*classes));
	if (classes == NULL) {
		perror("calloc");
		return 1;
	}
	classes[0].name = "normal client query + upstream query";
	input_set(&classes[0].inputs[0], JUDGE_HOOK_LOCAL_IN,
	    HOSTILE_CLIENT_MARK, packet,
	    hostile_normal_client_query(NORMAL_NAME, packet, sizeof(packet)));
	input_set(&classes[0].inputs[1], JUDGE_HOOK_LOCAL_OUT, 0, packet,
	    hostile_normal_upstream_query(NORMAL_NAME, packet,
	    sizeof(packet)));
	classes[0].count = 2;
	for (size_t i = 0; i < hostile_case_count; i++) {
		const struct hostile_case *hc = &hostile_cases[i];
		struct class *c = &classes[i + 1];

		c->name = hc->name;
		for (unsigned int v = hc->first; v <= hc->last &&
		    c->count < MAX_VARIANTS; v++)
			input_set(&c->inputs[c->count++], hc->hook,
			    hc->hook == JUDGE_HOOK_LOCAL_IN ?
			    HOSTILE_CLIENT_MARK : 0, packet,
			    hc->build(v, packet, sizeof(packet)));
	}

	/* The victim waits and its query went upstream, marked. */
	{
		struct class victim = { .count = 2 };

		input_set(&victim.inputs[0], JUDGE_HOOK_LOCAL_IN,
		    HOSTILE_CLIENT_MARK, packet,
		    hostile_victim_client_query(packet, sizeof(packet)));
		input_set(&victim.inputs[1], JUDGE_HOOK_LOCAL_OUT, 0, packet,
		    hostile_victim_upstream_query(packet, sizeof(packet)));
		run(&victim, 2, now_ms);
		if (stats.counter[STATS_UPSTREAM_MARKED] != 1) {
			fprintf(stderr, "the victim's query was not marked\n");
			return 1;
		}
		free(victim.inputs[0].data);
		free(victim.inputs[1].data);
	}

	/* Calibrate: iterations for about RUN_NS per class and run. */
	for (size_t i = 0; i < class_count; i++) {
		struct class *c = &classes[i];
		double ns = run(c, 2 * c->count + 20, now_ms);
		double want = RUN_NS / (ns > 1 ? ns : 1);

		c->iterations = want < MIN_ITERATIONS ? MIN_ITERATIONS :
		    want > MAX_ITERATIONS ? MAX_ITERATIONS :
		    (unsigned long)want;
		/* Whole rounds of the variants, so each counts alike. */
		c->iterations += c->count - c->iterations % c->count;
	}

	print_conditions();
	for (int r = 0; r < RUNS; r++) {
		for (size_t i = 0; i < class_count; i++)
			classes[i].ns[r] = run(&classes[i], classes[i].iterations,
			    now_ms + (uint64_t)r);
	}

	normal = median(classes[0].ns, RUNS);
	printf("%-66s %10s %8s %10s\n", "class", "ns/packet", "ratio",
	    "iterations");
	for (size_t i = 0; i < class_count; i++) {
		const struct class *c = &classes[i];
		double ns = median(c->ns, RUNS);
		char name[80];

		snprintf(name, sizeof(name), "%s%s", c->name,
		    c->count > 1 && i > 0 ? " (variants in turn)" : "");
		printf("%-66s %10.0f %8.2f %10lu\n", name, ns, ns / normal,
		    c->iterations);
	}
	printf("\npackets judged: %llu, upstream marked: %llu, bad responses: "
	    "%llu\n", (unsigned long long)stats.counter[STATS_PACKETS],
	    (unsigned long long)stats.counter[STATS_UPSTREAM_MARKED],
	    (unsigned long long)stats.counter[STATS_BAD_RESPONSE]);

	for (size_t i = 0; i < class_count; i++)
		for (size_t j = 0; j < classes[i].count; j++)
			free(classes[i].inputs[j].data);
	free(classes);
	judge_free(&judge);
	return 0;
}
