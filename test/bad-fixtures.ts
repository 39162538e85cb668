/**
 * Malformed fleets under test/fixtures/bad/<case>/ and the exact problems each must produce,
 * written relative to the case's directory (`<file>: <problem>`).
 */
export const BAD_DIR = "test/fixtures/bad";

export const BAD_FIXTURES: ReadonlyArray<readonly [string, readonly string[]]> = [
  ["comments-only", ['homebrews.yaml: empty file: expected a map of fields with at least "port"']],
  ["cpus-negative", ["homebrews.yaml: resources.cpus: expected a number of CPUs from 0.01 to 64, such as 0.5, got -1"]],
  [
    "cpus-unstable",
    [
      "homebrews.yaml: resources.cpus: 0.05 CPUs cannot be kept by the docker provider: it reads back as 0.1, so every up would replace the container; use 0.1 or a value with two decimals such as 0.25",
    ],
  ],
  [
    "cron-invalid",
    ['homebrews.yaml: backup.schedule: expected a cron expression such as "0 3 * * *", got "every day"'],
  ],
  [
    "domain-invalid",
    ['homebrews.yaml: domain: expected a lowercase host name such as app.example.com, got "https://example.com"'],
  ],
  [
    "duplicate-name",
    ['projects.yaml: name: "homebrews" is already used by test/fixtures/bad/duplicate-name/homebrews.yaml'],
  ],
  ["duplicate-port", ["projects.yaml: port: 5001 is already used by test/fixtures/bad/duplicate-port/homebrews.yaml"]],
  ["duration-no-unit", ["homebrews.yaml: healthcheck.interval: expected a duration from 1ms to 1h such as 5s, got 10"]],
  ["empty-file", ['homebrews.yaml: empty file: expected a map of fields with at least "port"']],
  ["enabled-yes", ['homebrews.yaml: backup.enabled: expected true or false, got "yes"']],
  ["env-list", ['homebrews.yaml: env: expected a map of NAME: value, got a list ["LOG_LEVEL=debug"]']],
  ["env-lowercase", ["homebrews.yaml: env.log_level: expected an upper-snake-case name such as LOG_LEVEL"]],
  [
    "env-nested-value",
    ['homebrews.yaml: env.LOG_LEVEL: expected a string, number or boolean, got a map {"level":"debug"}'],
  ],
  ["env-reserved", ["homebrews.yaml: env.PORT: set by fleet itself; remove it"]],
  [
    "env-secret",
    [
      "homebrews.yaml: env.SMTP_PASSWORD: looks like a secret, and secrets never live in instance files; remove it " +
        "and run: pulumi config set --secret --path 'fleet:secretEnv.homebrews.SMTP_PASSWORD' <value>",
    ],
  ],
  [
    "file-name-invalid",
    [
      'Home Brews.yaml: name: the file name "Home Brews" is not a valid instance name (lowercase letters, digits ' +
        'and "-", starting with a letter, at most 31 characters); rename the file or set name',
    ],
  ],
  ["keep-zero", ["homebrews.yaml: backup.keep: expected an integer 1-1000, got 0"]],
  ["list-not-map", ['homebrews.yaml: expected a map of fields such as "port: 5001", got a list of 2 items']],
  [
    "many-problems",
    [
      "homebrews.yaml: title: expected a non-empty string of at most 100 characters, got 5",
      "homebrews.yaml: port: expected an integer 1024-65535, got 70000",
      'homebrews.yaml: backups: unknown key; did you mean "backup"?',
      'projects.yaml: empty file: expected a map of fields with at least "port"',
    ],
  ],
  [
    "memory-invalid",
    ['homebrews.yaml: resources.memory: expected a memory size from 64m to 1024g such as 256m or 1g, got "lots"'],
  ],
  [
    "name-invalid",
    [
      'homebrews.yaml: name: expected lowercase letters, digits and "-", starting with a letter, at most 31 ' +
        'characters, got "Home_Brews"',
    ],
  ],
  ["port-admin-api", ["homebrews.yaml: port: 2019 is used by the proxy's admin API (fleet:proxyAdminPort)"]],
  ["port-fraction", ["homebrews.yaml: port: expected an integer 1024-65535, got 5001.5"]],
  ["port-missing", ["homebrews.yaml: port: required: an integer 1024-65535"]],
  ["port-privileged", ["homebrews.yaml: port: expected an integer 1024-65535, got 80"]],
  ["port-string", ['homebrews.yaml: port: expected an integer 1024-65535, got "5001"']],
  ["port-too-big", ["homebrews.yaml: port: expected an integer 1024-65535, got 70000"]],
  ["scalar-not-map", ['homebrews.yaml: expected a map of fields such as "port: 5001", got a string of 9 characters']],
  ["unknown-key", ['homebrews.yaml: titel: unknown key; did you mean "title"?']],
  ["unknown-nested-key", ['homebrews.yaml: healthcheck.intervall: unknown key; did you mean "interval"?']],
  ["version-not-semver", ['homebrews.yaml: version: expected an exact semver such as 1.2.3, got "latest"']],
  [
    "version-number",
    ['homebrews.yaml: version: expected an exact semver such as 1.2.3, got the number 1.1; quote it: version: "x.y.z"'],
  ],
  ["version-range", ['homebrews.yaml: version: expected an exact semver such as 1.2.3, got "^1.2.0"']],
  ["wave-negative", ["homebrews.yaml: rollout.wave: expected an integer 0-100, got -1"]],
  ["yaml-duplicate-key", ["homebrews.yaml: line 2, column 1: YAML syntax error: Map keys must be unique"]],
  [
    "yaml-nested-compact",
    ["homebrews.yaml: line 1, column 7: YAML syntax error: Nested mappings are not allowed in compact mappings"],
  ],
  [
    "yaml-two-documents",
    [
      "homebrews.yaml: line 2, column 1: YAML syntax error: a file holds one instance; remove the second document (---)",
    ],
  ],
  ["yaml-unclosed-quote", ['homebrews.yaml: line 3, column 1: YAML syntax error: Missing closing "quote']],
];

/** The problems of a case with their full file paths, as loadFleet, validate and render print them. */
export function expectedProblems(name: string, problems: readonly string[]): string[] {
  return problems.map((p) => `${BAD_DIR}/${name}/${p}`);
}
