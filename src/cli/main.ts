import yargs from 'yargs';
import { packageRoot } from '../private/package-root.js';
import type { Io } from './report.js';

const consoleIo: Io = {
  out: (t) => process.stdout.write(t.endsWith('\n') ? t : t + '\n'),
  err: (t) => process.stderr.write(t + '\n'),
  tty: process.stderr.isTTY === true,
};

/** Run the CLI with the given arguments; resolves to the exit code. */
export async function main(argv: string[], io: Io = consoleIo): Promise<number> {
  let code = 0;
  const parser = yargs(argv)
    .scriptName('hotk8s')
    .option('debug', { type: 'boolean', default: false, describe: 'print the stack trace of an error' })
    .command(
      'synth [app]',
      'Synthesize Heat templates (default: the ready-made default stack)',
      (y) =>
        y
          .positional('app', {
            type: 'string',
            describe: '.ts/.js module whose default export is an App, a HeatStack or a function returning one',
          })
          .option('stack', { type: 'string', describe: 'ready-made stack from stacks/ when no app is given', default: 'default' })
          .option('out', { alias: 'o', type: 'string', default: 'hotk8s.out', describe: 'output directory' })
          .option('state', { type: 'string', describe: 'private state directory for generated secrets (default: .hotk8s beside the app)' })
          .option('stdout', {
            type: 'boolean',
            default: false,
            describe:
              'print the root template to standard output (a single-file stack: nothing written; a stack with nested templates or secrets: every file still written to --out, secrets only to its 0600 file)',
          })
          .option('typecheck', {
            type: 'boolean',
            default: true,
            describe: "type-check a TypeScript app with its project's typescript first (--no-typecheck skips)",
          })
          .option('json', {
            type: 'boolean',
            default: false,
            describe: 'print the result (files, create command, warnings) or the errors as JSON',
          })
          .example('$0 synth', 'the ready-made default cluster into hotk8s.out/')
          .example('$0 synth cluster.ts --out out', 'your program (type-checked first when its project has typescript)')
          .example('$0 synth cluster.ts --json | jq -r .stacks[0].createCommand', 'in CI')
          .example(
            '$0 synth cluster.ts --stdout > cluster.yaml',
            'the root template on standard output; nested templates and secrets in hotk8s.out/',
          ),
      async (a) => {
        if (a.stdout && a.json) throw new UsageError('--stdout and --json are mutually exclusive (a template or one JSON object)');
        const { runSynth } = await import('./synth.js');
        code = await runSynth(
          {
            app: a.app,
            stack: a.stack,
            out: a.out,
            state: a.state,
            stdout: a.stdout,
            typecheck: a.typecheck,
            json: a.json,
            debug: a.debug,
          },
          io,
        );
      },
    )
    .command(
      'init [dir]',
      'Write a ready project: package.json, tsconfig, app.ts with a Cluster, a test, .gitignore',
      (y) =>
        y
          .positional('dir', { type: 'string', describe: 'project directory (default: the current one)' })
          .option('from', { type: 'string', describe: 'start from a ready-made stack of stacks/ (default, dev, multi-pool)' })
          .option('force', { type: 'boolean', default: false, describe: 'write into a non-empty directory' })
          .option('json', {
            type: 'boolean',
            default: false,
            describe: 'print the directory, the files written and the next commands as JSON',
          })
          .example('$0 init my-cluster && cd my-cluster && npm install && npm run synth', 'a new project with one Cluster')
          .example('$0 init my-cluster --from dev', 'a project with the development stack'),
      async (a) => {
        const { runInit } = await import('./init.js');
        code = await runInit({ dir: a.dir, from: a.from, force: a.force, json: a.json, debug: a.debug }, io);
      },
    )
    .command(
      'validate <paths..>',
      'Validate HOT files or a synth output directory',
      (y) =>
        y
          .positional('paths', { type: 'string', array: true, demandOption: true })
          .option('engine', {
            choices: ['schema', 'heat'] as const,
            default: 'schema' as const,
            describe: "schema: hotk8s' own checks; heat: the real Heat engine (python3-heat)",
          })
          .option('json', { type: 'boolean', default: false, describe: 'print the files checked, warnings and errors as JSON' })
          .example('$0 validate hotk8s.out', "hotk8s' own checks of a synth output")
          .example('$0 validate hotk8s.out --engine heat --json', "Heat's own validation, machine-readable"),
      async (a) => {
        const { runValidate } = await import('./validate.js');
        code = await runValidate({ paths: a.paths as string[], engine: a.engine, json: a.json, debug: a.debug }, io);
      },
    )
    .command(
      'params [app]',
      'Print an environment-file skeleton of every parameter a site must or may set',
      (y) =>
        y
          .positional('app', { type: 'string', describe: 'a program (as for synth) or a synth output directory' })
          .option('stack', { type: 'string', describe: 'ready-made stack from stacks/ when no app is given', default: 'default' })
          .option('json', { type: 'boolean', default: false, describe: 'print the parameters as JSON' })
          .example('$0 params app.ts > site.env.yaml', 'a skeleton to fill in')
          .example('$0 params hotk8s.out', 'the parameters of a synth output'),
      async (a) => {
        const { runParams } = await import('./params.js');
        code = await runParams({ app: a.app, stack: a.stack, json: a.json, debug: a.debug }, io);
      },
    )
    .command(
      'diff [old] [new]',
      'What updating the stack from OLD to NEW does, resource by resource (default: the last synth output against the current program)',
      (y) =>
        y
          .positional('old', { type: 'string', describe: 'synth output directory of the running stack (default: --out)' })
          .positional('new', { type: 'string', describe: 'synth output directory to update to (default: synth of the program)' })
          .option('app', { type: 'string', describe: 'the program for NEW (as for synth)' })
          .option('stack', { type: 'string', describe: 'ready-made stack from stacks/ when no app is given', default: 'default' })
          .option('out', { alias: 'o', type: 'string', default: 'hotk8s.out', describe: 'the last synth output (OLD by default)' })
          .option('fail-on-replace', {
            choices: ['stateful', 'any'] as const,
            describe: 'exit 3 when a stateful resource (or any) would be replaced or removed',
          })
          .option('parameter', {
            alias: 'P',
            type: 'string',
            array: true,
            describe: 'a parameter the update sets, KEY=VALUE (as openstack stack update --existing --parameter)',
          })
          .option('environment', {
            alias: 'e',
            type: 'string',
            array: true,
            describe: 'an environment file the update passes (its parameters and parameter_defaults)',
          })
          .option('unhealthy', {
            type: 'string',
            array: true,
            describe: 'a resource marked unhealthy (openstack stack resource mark unhealthy), as STACK/RESOURCE/INDEX/RESOURCE',
          })
          .option('json', { type: 'boolean', default: false, describe: 'print the changes as JSON' })
          .example('$0 diff --parameter etcd_image=debian-13', 'what a new etcd image does to the running stack')
          .example(
            '$0 diff --unhealthy default/ClusterEtcdMembersNodesGroup6E2F1A01/1/Server',
            'what the next update does after marking etcd member 1 unhealthy',
          )
          .example('$0 diff --app cluster.ts --fail-on-replace=stateful', 'in CI: refuse a change that replaces an etcd server or a volume')
          .example('$0 diff old.out new.out', 'two synth outputs'),
      async (a) => {
        const { runDiff } = await import('./diff.js');
        code = await runDiff(
          {
            old: a.old,
            new: a.new,
            app: a.app,
            stack: a.stack,
            out: a.out,
            failOnReplace: a['fail-on-replace'],
            parameters: a.parameter,
            environments: a.environment,
            unhealthy: a.unhealthy,
            json: a.json,
            debug: a.debug,
          },
          io,
        );
      },
    )
    .command(
      'update <stack>',
      'Update the stack with the etcd members and masters rolling one at a time, each next one only after the one before reports healthy',
      (y) =>
        y
          .positional('stack', { type: 'string', demandOption: true, describe: 'the Heat stack name' })
          .option('template', { alias: 't', type: 'string', describe: "a root template to update to (default: the stack's current one)" })
          .option('out', {
            alias: 'o',
            type: 'string',
            describe: 'a synth output directory to update to (its template and environments, as synth writes them)',
          })
          .option('parameter', {
            alias: 'P',
            type: 'string',
            array: true,
            describe: 'a parameter the update sets, KEY=VALUE (as openstack stack update --existing --parameter)',
          })
          .option('environment', { alias: 'e', type: 'string', array: true, describe: 'an environment file the update passes' })
          .option('timeout', {
            type: 'number',
            default: 900,
            describe: 'seconds an updated etcd member or master has to report healthy before the update stops there',
          })
          .option('poll', { type: 'number', default: 5, describe: 'seconds between two looks at the stack' })
          .option('openstack', { type: 'string', describe: 'the openstack client executable (default: $HOTK8S_OPENSTACK or openstack)' })
          .option('json', { type: 'boolean', default: false, describe: 'print the result (the members gated, their waits) as JSON' })
          .example('$0 update mycluster -P etcd_image=debian-13', 'a new etcd image, one member at a time, each healthy before the next')
          .example('$0 update mycluster --out hotk8s.out', 'to a new synth output'),
      async (a) => {
        const { runUpdate } = await import('./update.js');
        code = await runUpdate(
          {
            stack: a.stack,
            template: a.template,
            out: a.out,
            parameters: a.parameter,
            environments: a.environment,
            timeout: a.timeout,
            poll: a.poll,
            openstack: a.openstack,
            json: a.json,
            debug: a.debug,
          },
          io,
        );
      },
    )
    .command(
      'graph [app]',
      'The dependency graph of the stack (nested templates included) with the creation critical path',
      (y) =>
        y
          .positional('app', { type: 'string', describe: 'a program (as for synth) or a synth output directory' })
          .option('stack', { type: 'string', describe: 'ready-made stack from stacks/ when no app is given', default: 'default' })
          .option('format', { choices: ['mermaid', 'dot', 'json'] as const, default: 'mermaid' as const, describe: 'output format' })
          .option('json', { type: 'boolean', default: false, describe: 'the same as --format json' })
          .example('$0 graph app.ts --format dot | dot -Tsvg > graph.svg', 'an SVG with Graphviz'),
      async (a) => {
        const { runGraph } = await import('./graph.js');
        code = await runGraph({ app: a.app, stack: a.stack, format: a.json ? 'json' : a.format, debug: a.debug }, io);
      },
    )
    .command(
      'kubeconfig <stack>',
      "Write a kubeconfig for the stack's cluster (admin certificate from the state directory, context set)",
      (y) =>
        y
          .positional('stack', { type: 'string', demandOption: true, describe: 'the Heat stack name' })
          .option('api-address', {
            type: 'string',
            describe: "the API address (default: the stack's api_address output, read with openstack)",
          })
          .option('cluster', { type: 'string', describe: 'the Cluster name in the state directory (default: the only one there)' })
          .option('out', { alias: 'o', type: 'string', default: '.', describe: 'directory of <stack>.kubeconfig' })
          .option('state', { type: 'string', default: '.hotk8s', describe: "the synth's private state directory" })
          .option('merge', {
            type: 'boolean',
            default: false,
            describe: 'merge into $KUBECONFIG or ~/.kube/config instead (other entries kept)',
          })
          .option('openstack', { type: 'string', describe: 'the openstack client executable (default: $HOTK8S_OPENSTACK or openstack)' })
          .option('json', { type: 'boolean', default: false, describe: 'print the result as JSON' })
          .example('$0 kubeconfig mycluster && export KUBECONFIG=$PWD/mycluster.kubeconfig', 'after openstack stack create ... mycluster')
          .example('$0 kubeconfig mycluster --api-address 203.0.113.7 --merge', 'into ~/.kube/config, without the openstack client'),
      async (a) => {
        const { runKubeconfig } = await import('./kubeconfig.js');
        code = await runKubeconfig(
          {
            stack: a.stack,
            apiAddress: a['api-address'],
            cluster: a.cluster,
            out: a.out,
            state: a.state,
            merge: a.merge,
            openstack: a.openstack,
            json: a.json,
            debug: a.debug,
          },
          io,
        );
      },
    )
    .command(
      'teardown <stack>',
      'Delete the stack and what the cloud-controller-manager made outside it (load balancers, floating IPs, security groups; CSI volumes with --volumes)',
      (y) =>
        y
          .positional('stack', { type: 'string', demandOption: true, describe: 'the Heat stack name' })
          .option('cluster', {
            type: 'string',
            describe: "the controller's cluster name (default: from the stack's service_load_balancer_prefix output)",
          })
          .option('volumes', {
            type: 'boolean',
            default: false,
            describe: 'also delete the Cinder volumes the CSI driver made (their data is lost)',
          })
          .option('dry-run', { type: 'boolean', default: false, describe: 'list what would be deleted' })
          .option('yes', { alias: 'y', type: 'boolean', default: false, describe: 'delete without asking' })
          .option('openstack', { type: 'string', describe: 'the openstack client executable (default: $HOTK8S_OPENSTACK or openstack)' })
          .option('json', { type: 'boolean', default: false, describe: 'print the result as JSON' })
          .example('$0 teardown mycluster --dry-run', 'list what would go')
          .example('$0 teardown mycluster --yes --volumes', 'delete everything, persistent volumes included'),
      async (a) => {
        const { runTeardown } = await import('./teardown.js');
        code = await runTeardown(
          {
            stack: a.stack,
            cluster: a.cluster,
            volumes: a.volumes,
            dryRun: a['dry-run'],
            yes: a.yes,
            openstack: a.openstack,
            json: a.json,
            debug: a.debug,
          },
          io,
        );
      },
    )
    .example('$0 init my-cluster', 'start a project')
    .example('$0 synth app.ts && $0 params app.ts > site.env.yaml', 'the Heat templates, then the parameters a site sets')
    .example('$0 diff --app app.ts --fail-on-replace=stateful', 'before a stack update: what Heat will replace')
    .example('$0 <command> --help', 'the options and examples of a command')
    .demandCommand(1, 'name a command: init, synth, validate, params, diff, update, graph, kubeconfig or teardown')
    .strict()
    .fail((msg, err) => {
      // throwing stops yargs here: a command line that does not parse never runs its command
      throw new UsageError(msg ?? err?.message ?? 'invalid command line');
    })
    .version(packageRoot()?.version ?? 'unknown')
    .help()
    .exitProcess(false); // --help and --version return to the caller (and to tests) instead of exiting
  try {
    // with a callback, yargs hands --help and --version text over instead of printing it to the console
    await parser.parseAsync(argv, {}, (_err, _argv, output) => {
      if (output) io.out(output);
    });
  } catch (e) {
    io.err(`hotk8s: ${e instanceof Error ? e.message : String(e)}`);
    code = 2;
  }
  return code;
}

class UsageError extends Error {}

/** Entry point of the `hotk8s` bin. */
export async function run(argv: string[]): Promise<void> {
  process.exitCode = await main(argv);
}
