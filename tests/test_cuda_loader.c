/* The CUDA module loader (backends/cuda/cuda_loader.c) and the module's entry.
 *
 * The cases run in order: the missing-module case first, because a module
 * that loads stays loaded for the rest of the process.
 *   - $GLOW_CUDA_MODULE naming a missing file: list_devices and open answer
 *     GLOW_ERR_UNAVAILABLE with that path in the message;
 *   - the module this build made ($GLOW_CUDA_MODULE as set by tests/meson.build):
 *     without a driver, list_devices and open answer GLOW_ERR_UNAVAILABLE with
 *     "CUDA driver not found: libcuda.so.1"; with a driver, either devices that
 *     open (and are CUDA devices) or GLOW_ERR_UNAVAILABLE with a reason;
 *   - the module's entry, called directly: it refuses a host of another ABI and,
 *     with a matching host, answers list_devices without crashing whether or not
 *     a driver is present.
 * Without a module in this build the last two cases are not part of the suite
 * (the build has no CUDA, as it has no Vulkan tests without Vulkan), unless
 * $GLOW_TEST_REQUIRE names cuda: then the suite fails. With a driver present, a
 * module that cannot list devices fails the suite under GLOW_TEST_REQUIRE=cuda
 * and otherwise skips it (exit 77), so it never reports success. */
#include "test_util.h"

#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../backends/cuda/cuda_module.h"

static char g_module[4096]; /* the build's module, "" when none */

static const glow_backend_factory *cuda_factory(void)
{
    const glow_backend_factory *f[8];
    int n = glow_backend_factories(f, 8);
    for (int i = 0; i < n; i++)
        if (strcmp(f[i]->name, "cuda") == 0)
            return f[i];
    fail_msg("the cuda factory is not registered although the loader is compiled in");
    return NULL;
}

static int driver_present(void)
{
    void *h = dlopen("libcuda.so.1", RTLD_NOW | RTLD_LOCAL);
    if (h)
        dlclose(h);
    return h != NULL;
}

/* Without a module in the build: a failure when GLOW_TEST_REQUIRE names cuda. */
static void test_required_module_is_missing(void **state)
{
    (void)state;
    tu_backend_unavailable("cuda", GLOW_ERR_UNAVAILABLE, "no CUDA module in this build (nvcc not found or -Dcuda=disabled)");
}

static void test_missing_module_is_unavailable(void **state)
{
    (void)state;
    const char *missing = "/nonexistent/glow-test-dir/libglow-cuda.so";
    setenv("GLOW_CUDA_MODULE", missing, 1);
    const glow_backend_factory *f = cuda_factory();
    glow_device_info info[4];
    int count = -1;
    glow_clear_error();
    assert_int_equal(f->list_devices(info, 4, &count), GLOW_ERR_UNAVAILABLE);
    assert_int_equal(count, 0);
    if (strstr(glow_last_error(), missing) == NULL || strstr(glow_last_error(), "not found") == NULL)
        fail_msg("message does not name the missing module: %s", glow_last_error());
    glow_backend dummy;
    glow_backend *be = &dummy; /* must be reset to NULL */
    assert_int_equal(f->open(-1, &be), GLOW_ERR_UNAVAILABLE);
    assert_null(be);
    assert_non_null(strstr(glow_last_error(), missing));
    /* Through the registry, the message names the backend. */
    assert_int_equal(glow_backend_open("cuda", -1, &be), GLOW_ERR_UNAVAILABLE);
    assert_null(be);
    assert_true(strncmp(glow_last_error(), "cuda: ", 6) == 0);
}

static void test_real_module(void **state)
{
    (void)state;
    setenv("GLOW_CUDA_MODULE", g_module, 1);
    const glow_backend_factory *f = cuda_factory();
    glow_device_info info[8];
    int count = -1;
    glow_clear_error();
    glow_status st = f->list_devices(info, 8, &count);
    printf("[ cuda     ] list_devices: %s%s%s\n", glow_status_name(st), st == GLOW_OK ? "" : ": ",
           st == GLOW_OK ? "" : glow_last_error());
    if (!driver_present()) {
        assert_int_equal(st, GLOW_ERR_UNAVAILABLE);
        assert_int_equal(count, 0);
        assert_non_null(strstr(glow_last_error(), "CUDA driver not found: libcuda.so.1"));
        glow_backend *be = NULL;
        assert_int_equal(f->open(-1, &be), GLOW_ERR_UNAVAILABLE);
        assert_null(be);
        tu_backend_unavailable("cuda", st, "no CUDA driver (libcuda.so.1)"); /* fails when cuda is required */
        return;
    }
    if (st != GLOW_OK) {
        /* A driver but no usable device: fails when cuda is required or the error is not
         * GLOW_ERR_UNAVAILABLE, else the suite is skipped (77), never passed. */
        tu_backend_unavailable("cuda", st, glow_last_error());
        assert_true(strlen(glow_last_error()) > 0);
        tu_require(0, "a CUDA device (the driver is present)");
    }
    assert_true(count >= 1);
    for (int d = 0; d < count && d < 8; d++) {
        printf("[ cuda     ] device %d: %s (%s)\n", d, info[d].name, info[d].driver);
        assert_string_equal(info[d].backend, "cuda");
        assert_non_null(strstr(info[d].details, g_module)); /* the loader notes where the module came from */
    }
    glow_backend *be = NULL;
    TU_OK(f->open(0, &be));
    assert_string_equal(be->info.backend, "cuda");
    /* A round trip through device memory. */
    float host[5] = {1.5f, -2.0f, 3.25f, 0.0f, 7.0f}, back[5] = {0};
    glow_tensor t = tu_tensor(be, 1, 1, 1, 5, host);
    TU_OK(glow_tensor_download(t, back));
    assert_memory_equal(host, back, sizeof host);
    tu_tensor_free(t);
    glow_backend_close(be);
}

static glow_status record_error(glow_status code, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static glow_status record_error(glow_status code, const char *fmt, ...)
{
    va_list ap;
    char message[1024];
    va_start(ap, fmt);
    vsnprintf(message, sizeof message, fmt, ap);
    va_end(ap);
    return glow_error(code, "%s", message);
}

static void test_module_entry(void **state)
{
    (void)state;
    void *h = dlopen(g_module, RTLD_NOW | RTLD_LOCAL);
    if (h == NULL)
        fail_msg("dlopen %s: %s", g_module, dlerror());
    void *sym = dlsym(h, GLOW_CUDA_MODULE_ENTRY);
    assert_non_null(sym);
    glow_cuda_module_init_fn init;
    memcpy(&init, &sym, sizeof init);

    static glow_cuda_host_api wrong = {GLOW_CUDA_MODULE_ABI + 1, 0, 0, 0, record_error, glow_precision_setting};
    glow_cuda_module_api api = {NULL, NULL, NULL};
    assert_int_equal(init(&wrong, &api), GLOW_ERR_UNAVAILABLE);
    assert_non_null(strstr(glow_last_error(), "another glow-vk interface"));
    assert_null(api.list_devices);

    static glow_cuda_host_api host = {GLOW_CUDA_MODULE_ABI, (uint32_t)sizeof(glow_backend),
                                      (uint32_t)sizeof(glow_backend_ops), (uint32_t)sizeof(glow_device_info),
                                      record_error, glow_precision_setting};
    TU_OK(init(&host, &api));
    assert_non_null(api.list_devices);
    assert_non_null(api.open);
    assert_non_null(api.counts);
    glow_device_info info[4];
    int count = -1;
    glow_clear_error();
    glow_status st = api.list_devices(info, 4, &count);
    printf("[ cuda     ] module list_devices: %s%s%s\n", glow_status_name(st), st == GLOW_OK ? "" : ": ",
           st == GLOW_OK ? "" : glow_last_error());
    if (st == GLOW_OK) {
        assert_true(count >= 1);
    } else {
        /* No driver or no device: the module's static runtime says why. */
        assert_int_equal(st, GLOW_ERR_UNAVAILABLE);
        assert_int_equal(count, 0);
        assert_true(strstr(glow_last_error(), "no CUDA device") != NULL ||
                    strstr(glow_last_error(), "CUDA runtime cannot start") != NULL);
        if (!driver_present())
            assert_non_null(strstr(glow_last_error(), "CUDA runtime cannot start"));
    }
    /* The module stays loaded (the loader holds it too); no dlclose while its
     * static runtime may have registered exit handlers. */
}

int main(void)
{
    const char *env = getenv("GLOW_CUDA_MODULE");
    if (env != NULL && access(env, F_OK) == 0)
        snprintf(g_module, sizeof g_module, "%s", env);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_missing_module_is_unavailable),
        cmocka_unit_test(test_real_module),
        cmocka_unit_test(test_module_entry),
    };
    const struct CMUnitTest without_module[] = {
        cmocka_unit_test(test_missing_module_is_unavailable),
        cmocka_unit_test(test_required_module_is_missing),
    };
    if (g_module[0] != '\0')
        return tu_exit_status(cmocka_run_group_tests(tests, NULL, NULL));
    printf("[ note     ] no CUDA module in this build: only the loader's missing-module path is tested\n");
    return tu_exit_status(cmocka_run_group_tests(without_module, NULL, NULL));
}
