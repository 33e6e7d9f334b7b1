/* The glow-vk commands. Each takes the arguments after its name and returns
 * the process exit status: 0 ok, 1 runtime error, 2 usage error. */
#ifndef GLOW_APP_COMMANDS_H
#define GLOW_APP_COMMANDS_H

int cmd_devices(int argc, char **argv);
int cmd_train(int argc, char **argv);
int cmd_sample(int argc, char **argv);
int cmd_interpolate(int argc, char **argv);
int cmd_eval(int argc, char **argv);
int cmd_bench(int argc, char **argv);
int cmd_export(int argc, char **argv);

#endif
