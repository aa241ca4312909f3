# Print an optspec for argparse to handle cmd's options that are independent of any subcommand.
function __fish_barman_global_optspecs
    string join \n v/version c/config= color= log-level= q/quiet d/debug f/format= h/help
end

function __fish_barman_needs_command
    # Figure out if the current invocation already has a command.
    set -l cmd (commandline -opc)
    set -e cmd[1]
    argparse -s (__fish_barman_global_optspecs) -- $cmd 2>/dev/null
    or return
    if set -q argv[1]
        # Also print the command, so this can be used to figure out what it is.
        echo $argv[1]
        return 1
    end
    return 0
end

function __fish_barman_using_subcommand
    set -l cmd (__fish_barman_needs_command)
    test -z "$cmd"
    and return 1
    contains -- $cmd[1] $argv
end

complete -c barman -n "__fish_barman_needs_command" -s c -l config -d 'uses a configuration file (defaults: ~/.barman.conf, /etc/barman.conf, /etc/barman/barman.conf)' -r -F
complete -c barman -n "__fish_barman_needs_command" -l color -l colour -d 'use coloured output' -r -f -a "never\t'never colour'
always\t'always colour'
auto\t'colour when stdout and stderr are terminals'"
complete -c barman -n "__fish_barman_needs_command" -l log-level -d 'override the default log level' -r -f -a "NOTSET\t'NOTSET'
DEBUG\t'DEBUG'
INFO\t'INFO'
WARNING\t'WARNING'
ERROR\t'ERROR'
CRITICAL\t'CRITICAL'"
complete -c barman -n "__fish_barman_needs_command" -s f -l format -d 'output format' -r -f -a "console\t'human-readable lines'
json\t'one JSON object'"
complete -c barman -n "__fish_barman_needs_command" -s v -l version -d 'show program\'s version number and exit'
complete -c barman -n "__fish_barman_needs_command" -s q -l quiet -d 'be quiet'
complete -c barman -n "__fish_barman_needs_command" -s d -l debug -d 'debug output'
complete -c barman -n "__fish_barman_needs_command" -s h -l help -d 'show this help message and exit'
complete -c barman -n "__fish_barman_needs_command" -f -a "archive-wal" -d 'Execute maintenance operations on WAL files for a given server. This command processes any incoming WAL files for the server and archives them along the catalogue'
complete -c barman -n "__fish_barman_needs_command" -f -a "backup" -d 'Perform a full backup for the given server (supports \'all\')'
complete -c barman -n "__fish_barman_needs_command" -f -a "check" -d 'Check if the server configuration is working. This command returns success if every checks pass, or failure if any of these fails'
complete -c barman -n "__fish_barman_needs_command" -f -a "check-archived-wal-range" -d 'Verify that all WAL segments between begin_wal and end_wal are present in the server\'s WAL archive'
complete -c barman -n "__fish_barman_needs_command" -f -a "check-backup" -d 'Make sure that all the required WAL files to check the consistency of a physical backup (that is, from the beginning to the end of the full backup) are correctly archived. This command is automatically invoked by the cron command and at the end of every backup operation'
complete -c barman -n "__fish_barman_needs_command" -f -a "check-wal-archive" -d 'Check the WAL archive can be safely used for a new server. This will fail if there are any existing WALs in the archive. If the --timeline option is used then any WALs on earlier timelines than that specified will not cause the check to fail'
complete -c barman -n "__fish_barman_needs_command" -f -a "cloud-wal-archive" -d 'Push a WAL file from the local disk to a configured cloud object storage. This command is intended to be used as \'archive_command\' in Postgres when using the \'local-to-cloud\' backup method for taking base backups'
complete -c barman -n "__fish_barman_needs_command" -f -a "cloud-wal-restore" -d 'Pull a WAL file from a configured cloud object storage to the local disk. This command is intended to be used as \'restore_command\' in Postgres when restoring WALs from a cloud object storage'
complete -c barman -n "__fish_barman_needs_command" -f -a "config-switch" -d 'Change the active configuration for a server by applying a named model on top of it, or by resetting the active model'
complete -c barman -n "__fish_barman_needs_command" -f -a "config-update" -d 'Receives a set of configuration changes in json format and applies them'
complete -c barman -n "__fish_barman_needs_command" -f -a "cron" -d 'Run maintenance tasks (global command)'
complete -c barman -n "__fish_barman_needs_command" -f -a "delete" -d 'Delete a backup'
complete -c barman -n "__fish_barman_needs_command" -f -a "diagnose" -d 'Diagnostic command (for support and problems detection purpose)'
complete -c barman -n "__fish_barman_needs_command" -f -a "drill" -d 'Prove that a backup restores: restore it into a scratch directory, start it, wait for its target, run pg_amcheck and count rows, record the outcome, remove it all'
complete -c barman -n "__fish_barman_needs_command" -f -a "export-backup" -d 'Export a backup for the given server and backup ID to a tarball'
complete -c barman -n "__fish_barman_needs_command" -f -a "generate-manifest" -d 'Generate a manifest-backup for the given server and backup id'
complete -c barman -n "__fish_barman_needs_command" -f -a "get-wal" -d 'Retrieve WAL_NAME file from SERVER_NAME archive. The content will be streamed on standard output unless the --output-directory option is specified'
complete -c barman -n "__fish_barman_needs_command" -f -a "help" -d 'show this help message and exit'
complete -c barman -n "__fish_barman_needs_command" -f -a "import-backup" -d 'Import a previously exported backup tarball into the Barman catalog'
complete -c barman -n "__fish_barman_needs_command" -f -a "keep" -d 'Tag the specified backup so that it will never be deleted'
complete -c barman -n "__fish_barman_needs_command" -f -a "list-backups" -d 'List available backups for the given server (supports \'all\')'
complete -c barman -n "__fish_barman_needs_command" -f -a "list-backup" -d 'List available backups for the given server (supports \'all\')'
complete -c barman -n "__fish_barman_needs_command" -f -a "list-files" -d 'List all the files for a single backup'
complete -c barman -n "__fish_barman_needs_command" -f -a "list-processes" -d 'List all the active subprocesses started by the specified server'
complete -c barman -n "__fish_barman_needs_command" -f -a "list-process" -d 'List all the active subprocesses started by the specified server'
complete -c barman -n "__fish_barman_needs_command" -f -a "list-servers" -d 'List available servers, with useful information'
complete -c barman -n "__fish_barman_needs_command" -f -a "list-server" -d 'List available servers, with useful information'
complete -c barman -n "__fish_barman_needs_command" -f -a "lock-directory-cleanup" -d 'Cleanup command for the lock directory, takes care of leftover lock files'
complete -c barman -n "__fish_barman_needs_command" -f -a "metrics" -d 'Print each server\'s catalog as Prometheus metrics (backup age and size, WAL archive lag and rate, archiver errors, disk usage, retention) for node_exporter\'s textfile collector'
complete -c barman -n "__fish_barman_needs_command" -f -a "put-wal" -d 'Receive a WAL file from SERVER_NAME and securely store it in the incoming directory. The file will be read from standard input in tar format'
complete -c barman -n "__fish_barman_needs_command" -f -a "receive-wal" -d 'Start a receive-wal process. The process uses the streaming protocol to receive WAL files from the PostgreSQL server'
complete -c barman -n "__fish_barman_needs_command" -f -a "rebuild-xlogdb" -d 'Rebuild the WAL file database guessing it from the disk content'
complete -c barman -n "__fish_barman_needs_command" -f -a "replication-status" -d 'Shows live information and status of any streaming client'
complete -c barman -n "__fish_barman_needs_command" -f -a "restore" -d 'Restore a server at a given time, name, LSN or xid'
complete -c barman -n "__fish_barman_needs_command" -f -a "recover" -d 'Restore a server at a given time, name, LSN or xid'
complete -c barman -n "__fish_barman_needs_command" -f -a "show-backup" -d 'This method shows a single backup information'
complete -c barman -n "__fish_barman_needs_command" -f -a "show-backups" -d 'This method shows a single backup information'
complete -c barman -n "__fish_barman_needs_command" -f -a "show-servers" -d 'Show all configuration parameters for the specified servers'
complete -c barman -n "__fish_barman_needs_command" -f -a "show-server" -d 'Show all configuration parameters for the specified servers'
complete -c barman -n "__fish_barman_needs_command" -f -a "status" -d 'Shows live information and status of the PostgreSQL server'
complete -c barman -n "__fish_barman_needs_command" -f -a "switch-wal" -d 'Execute the switch-wal command on the target server'
complete -c barman -n "__fish_barman_needs_command" -f -a "switch-xlog" -d 'Execute the switch-wal command on the target server'
complete -c barman -n "__fish_barman_needs_command" -f -a "sync-backup" -d 'Command that synchronises a backup from a master to a passive node'
complete -c barman -n "__fish_barman_needs_command" -f -a "sync-info" -d 'Output the internal synchronisation status. Used to sync_backup with a passive node'
complete -c barman -n "__fish_barman_needs_command" -f -a "sync-wals" -d 'Command that synchronises WAL files from a master to a passive node'
complete -c barman -n "__fish_barman_needs_command" -f -a "terminate-process" -d 'Terminate a Barman server subprocess specified by task name'
complete -c barman -n "__fish_barman_needs_command" -f -a "verify-archive" -d 'Verify the WAL archive: checksums recorded at archive time, files that do not decompress to a whole segment, timeline history files, gaps between each backup\'s first WAL and the newest one. Reads only files new since the last run unless --full'
complete -c barman -n "__fish_barman_needs_command" -f -a "verify-backup" -d 'verify a backup for the given server and backup id'
complete -c barman -n "__fish_barman_needs_command" -f -a "verify" -d 'verify a backup for the given server and backup id'
complete -c barman -n "__fish_barman_using_subcommand archive-wal" -s c -l config -d 'uses a configuration file (defaults: ~/.barman.conf, /etc/barman.conf, /etc/barman/barman.conf)' -r -F
complete -c barman -n "__fish_barman_using_subcommand archive-wal" -l color -l colour -d 'use coloured output' -r -f -a "never\t'never colour'
always\t'always colour'
auto\t'colour when stdout and stderr are terminals'"
complete -c barman -n "__fish_barman_using_subcommand archive-wal" -l log-level -d 'override the default log level' -r -f -a "NOTSET\t'NOTSET'
DEBUG\t'DEBUG'
INFO\t'INFO'
WARNING\t'WARNING'
ERROR\t'ERROR'
CRITICAL\t'CRITICAL'"
complete -c barman -n "__fish_barman_using_subcommand archive-wal" -s f -l format -d 'output format' -r -f -a "console\t'human-readable lines'
json\t'one JSON object'"
complete -c barman -n "__fish_barman_using_subcommand archive-wal" -s v -l version -d 'show program\'s version number and exit'
complete -c barman -n "__fish_barman_using_subcommand archive-wal" -s q -l quiet -d 'be quiet'
complete -c barman -n "__fish_barman_using_subcommand archive-wal" -s d -l debug -d 'debug output'
complete -c barman -n "__fish_barman_using_subcommand archive-wal" -s h -l help -d 'show this help message and exit'
complete -c barman -n "__fish_barman_using_subcommand backup" -l incremental -d 'performs an incremental backup. An ID of a previous backup must be provided (\'latest\' and \'latest-full\' are also available options)' -r
complete -c barman -n "__fish_barman_using_subcommand backup" -l reuse-backup -d 'use the previous backup to improve transfer-rate. If no argument is given "link" is assumed' -r -f -a "copy\t'copy unchanged files from the previous backup'
link\t'hard-link unchanged files from the previous backup'
off\t'copy everything from the server'"
complete -c barman -n "__fish_barman_using_subcommand backup" -l retry-times -d 'Number of retries after an error if base backup copy fails' -r
complete -c barman -n "__fish_barman_using_subcommand backup" -l retry-sleep -d 'Wait time after a failed base backup copy, before retrying' -r
complete -c barman -n "__fish_barman_using_subcommand backup" -s j -l jobs -d 'Run the copy in parallel using NJOBS processes' -r
complete -c barman -n "__fish_barman_using_subcommand backup" -l jobs-start-batch-period -d 'The time period in seconds over which a single batch of jobs will be started' -r
complete -c barman -n "__fish_barman_using_subcommand backup" -l jobs-start-batch-size -d 'The maximum number of parallel Rsync jobs to start in a single batch' -r
complete -c barman -n "__fish_barman_using_subcommand backup" -l bwlimit -d 'maximum transfer rate in kilobytes per second. A value of 0 means no limit. Overrides \'bandwidth_limit\' configuration option' -r
complete -c barman -n "__fish_barman_using_subcommand backup" -l wait-timeout -d 'the time, in seconds, spent waiting for the required WAL files to be archived before timing out' -r
complete -c barman -n "__fish_barman_using_subcommand backup" -l keepalive-interval -d 'An interval, in seconds, at which a heartbeat query will be sent to the server to keep the libpq connection alive during an Rsync backup' -r
complete -c barman -n "__fish_barman_using_subcommand backup" -l name -d 'a name which can be used to reference this backup in barman commands such as restore and delete' -r
complete -c barman -n "__fish_barman_using_subcommand backup" -l check-timeout -d 'Specifies the time limit, in seconds, for the check operation. Set to zero to disable the timeout' -r
complete -c barman -n "__fish_barman_using_subcommand backup" -l cloud-staging-directory -d 'A staging directory for when sending backups to a cloud destination' -r
complete -c barman -n "__fish_barman_using_subcommand backup" -l cloud-staging-max-size -d 'Max size that `--cloud-staging-directory` can reach. If this value is ever surparsed then the backup process is paused and only resumed when enough space is available. Default is 30Gi' -r
complete -c barman -n "__fish_barman_using_subcommand backup" -s c -l config -d 'uses a configuration file (defaults: ~/.barman.conf, /etc/barman.conf, /etc/barman/barman.conf)' -r -F
complete -c barman -n "__fish_barman_using_subcommand backup" -l color -l colour -d 'use coloured output' -r -f -a "never\t'never colour'
always\t'always colour'
auto\t'colour when stdout and stderr are terminals'"
complete -c barman -n "__fish_barman_using_subcommand backup" -l log-level -d 'override the default log level' -r -f -a "NOTSET\t'NOTSET'
DEBUG\t'DEBUG'
INFO\t'INFO'
WARNING\t'WARNING'
ERROR\t'ERROR'
CRITICAL\t'CRITICAL'"
complete -c barman -n "__fish_barman_using_subcommand backup" -s f -l format -d 'output format' -r -f -a "console\t'human-readable lines'
json\t'one JSON object'"
complete -c barman -n "__fish_barman_using_subcommand backup" -l immediate-checkpoint -d 'forces the initial checkpoint to be done as quickly as possible'
complete -c barman -n "__fish_barman_using_subcommand backup" -l no-immediate-checkpoint -d 'forces the initial checkpoint to be spread'
complete -c barman -n "__fish_barman_using_subcommand backup" -l no-retry -d 'Disable base backup copy retry logic'
complete -c barman -n "__fish_barman_using_subcommand backup" -s w -l wait -d 'wait for all the required WAL files to be archived'
complete -c barman -n "__fish_barman_using_subcommand backup" -l manifest -d 'forces the creation of the backup manifest file for the rsync backup method'
complete -c barman -n "__fish_barman_using_subcommand backup" -l no-manifest -d 'disables the creation of the backup manifest file for the rsync backup method'
complete -c barman -n "__fish_barman_using_subcommand backup" -s v -l version -d 'show program\'s version number and exit'
complete -c barman -n "__fish_barman_using_subcommand backup" -s q -l quiet -d 'be quiet'
complete -c barman -n "__fish_barman_using_subcommand backup" -s d -l debug -d 'debug output'
complete -c barman -n "__fish_barman_using_subcommand backup" -s h -l help -d 'show this help message and exit'
complete -c barman -n "__fish_barman_using_subcommand check" -l check-timeout -d 'Specifies the time limit, in seconds, for the check operation. Set to zero to disable the timeout' -r
complete -c barman -n "__fish_barman_using_subcommand check" -s c -l config -d 'uses a configuration file (defaults: ~/.barman.conf, /etc/barman.conf, /etc/barman/barman.conf)' -r -F
complete -c barman -n "__fish_barman_using_subcommand check" -l color -l colour -d 'use coloured output' -r -f -a "never\t'never colour'
always\t'always colour'
auto\t'colour when stdout and stderr are terminals'"
complete -c barman -n "__fish_barman_using_subcommand check" -l log-level -d 'override the default log level' -r -f -a "NOTSET\t'NOTSET'
DEBUG\t'DEBUG'
INFO\t'INFO'
WARNING\t'WARNING'
ERROR\t'ERROR'
CRITICAL\t'CRITICAL'"
complete -c barman -n "__fish_barman_using_subcommand check" -s f -l format -d 'output format' -r -f -a "console\t'human-readable lines'
json\t'one JSON object'"
complete -c barman -n "__fish_barman_using_subcommand check" -l nagios -d 'Nagios plugin compatible output'
complete -c barman -n "__fish_barman_using_subcommand check" -s v -l version -d 'show program\'s version number and exit'
complete -c barman -n "__fish_barman_using_subcommand check" -s q -l quiet -d 'be quiet'
complete -c barman -n "__fish_barman_using_subcommand check" -s d -l debug -d 'debug output'
complete -c barman -n "__fish_barman_using_subcommand check" -s h -l help -d 'show this help message and exit'
complete -c barman -n "__fish_barman_using_subcommand check-archived-wal-range" -s c -l config -d 'uses a configuration file (defaults: ~/.barman.conf, /etc/barman.conf, /etc/barman/barman.conf)' -r -F
complete -c barman -n "__fish_barman_using_subcommand check-archived-wal-range" -l color -l colour -d 'use coloured output' -r -f -a "never\t'never colour'
always\t'always colour'
auto\t'colour when stdout and stderr are terminals'"
complete -c barman -n "__fish_barman_using_subcommand check-archived-wal-range" -l log-level -d 'override the default log level' -r -f -a "NOTSET\t'NOTSET'
DEBUG\t'DEBUG'
INFO\t'INFO'
WARNING\t'WARNING'
ERROR\t'ERROR'
CRITICAL\t'CRITICAL'"
complete -c barman -n "__fish_barman_using_subcommand check-archived-wal-range" -s f -l format -d 'output format' -r -f -a "console\t'human-readable lines'
json\t'one JSON object'"
complete -c barman -n "__fish_barman_using_subcommand check-archived-wal-range" -s v -l version -d 'show program\'s version number and exit'
complete -c barman -n "__fish_barman_using_subcommand check-archived-wal-range" -s q -l quiet -d 'be quiet'
complete -c barman -n "__fish_barman_using_subcommand check-archived-wal-range" -s d -l debug -d 'debug output'
complete -c barman -n "__fish_barman_using_subcommand check-archived-wal-range" -s h -l help -d 'show this help message and exit'
complete -c barman -n "__fish_barman_using_subcommand check-backup" -s c -l config -d 'uses a configuration file (defaults: ~/.barman.conf, /etc/barman.conf, /etc/barman/barman.conf)' -r -F
complete -c barman -n "__fish_barman_using_subcommand check-backup" -l color -l colour -d 'use coloured output' -r -f -a "never\t'never colour'
always\t'always colour'
auto\t'colour when stdout and stderr are terminals'"
complete -c barman -n "__fish_barman_using_subcommand check-backup" -l log-level -d 'override the default log level' -r -f -a "NOTSET\t'NOTSET'
DEBUG\t'DEBUG'
INFO\t'INFO'
WARNING\t'WARNING'
ERROR\t'ERROR'
CRITICAL\t'CRITICAL'"
complete -c barman -n "__fish_barman_using_subcommand check-backup" -s f -l format -d 'output format' -r -f -a "console\t'human-readable lines'
json\t'one JSON object'"
complete -c barman -n "__fish_barman_using_subcommand check-backup" -s v -l version -d 'show program\'s version number and exit'
complete -c barman -n "__fish_barman_using_subcommand check-backup" -s q -l quiet -d 'be quiet'
complete -c barman -n "__fish_barman_using_subcommand check-backup" -s d -l debug -d 'debug output'
complete -c barman -n "__fish_barman_using_subcommand check-backup" -s h -l help -d 'show this help message and exit'
complete -c barman -n "__fish_barman_using_subcommand check-wal-archive" -l timeline -d 'the earliest timeline whose WALs should cause the check to fail' -r
complete -c barman -n "__fish_barman_using_subcommand check-wal-archive" -s c -l config -d 'uses a configuration file (defaults: ~/.barman.conf, /etc/barman.conf, /etc/barman/barman.conf)' -r -F
complete -c barman -n "__fish_barman_using_subcommand check-wal-archive" -l color -l colour -d 'use coloured output' -r -f -a "never\t'never colour'
always\t'always colour'
auto\t'colour when stdout and stderr are terminals'"
complete -c barman -n "__fish_barman_using_subcommand check-wal-archive" -l log-level -d 'override the default log level' -r -f -a "NOTSET\t'NOTSET'
DEBUG\t'DEBUG'
INFO\t'INFO'
WARNING\t'WARNING'
ERROR\t'ERROR'
CRITICAL\t'CRITICAL'"
complete -c barman -n "__fish_barman_using_subcommand check-wal-archive" -s f -l format -d 'output format' -r -f -a "console\t'human-readable lines'
json\t'one JSON object'"
complete -c barman -n "__fish_barman_using_subcommand check-wal-archive" -s v -l version -d 'show program\'s version number and exit'
complete -c barman -n "__fish_barman_using_subcommand check-wal-archive" -s q -l quiet -d 'be quiet'
complete -c barman -n "__fish_barman_using_subcommand check-wal-archive" -s d -l debug -d 'debug output'
complete -c barman -n "__fish_barman_using_subcommand check-wal-archive" -s h -l help -d 'show this help message and exit'
complete -c barman -n "__fish_barman_using_subcommand cloud-wal-archive" -s p -l parallel -d 'Specifies the maximum number of WALs to archive in parallel. Defaults to the server configuration value (cloud_wal_archive_parallel), which itself defaults to 0 (disabled)' -r
complete -c barman -n "__fish_barman_using_subcommand cloud-wal-archive" -s c -l config -d 'uses a configuration file (defaults: ~/.barman.conf, /etc/barman.conf, /etc/barman/barman.conf)' -r -F
complete -c barman -n "__fish_barman_using_subcommand cloud-wal-archive" -l color -l colour -d 'use coloured output' -r -f -a "never\t'never colour'
always\t'always colour'
auto\t'colour when stdout and stderr are terminals'"
complete -c barman -n "__fish_barman_using_subcommand cloud-wal-archive" -l log-level -d 'override the default log level' -r -f -a "NOTSET\t'NOTSET'
DEBUG\t'DEBUG'
INFO\t'INFO'
WARNING\t'WARNING'
ERROR\t'ERROR'
CRITICAL\t'CRITICAL'"
complete -c barman -n "__fish_barman_using_subcommand cloud-wal-archive" -s f -l format -d 'output format' -r -f -a "console\t'human-readable lines'
json\t'one JSON object'"
complete -c barman -n "__fish_barman_using_subcommand cloud-wal-archive" -s v -l version -d 'show program\'s version number and exit'
complete -c barman -n "__fish_barman_using_subcommand cloud-wal-archive" -s q -l quiet -d 'be quiet'
complete -c barman -n "__fish_barman_using_subcommand cloud-wal-archive" -s d -l debug -d 'debug output'
complete -c barman -n "__fish_barman_using_subcommand cloud-wal-archive" -s h -l help -d 'show this help message and exit'
complete -c barman -n "__fish_barman_using_subcommand cloud-wal-restore" -s p -l parallel -d 'Specifies the number of files to peek and download in parallel. Default is 0 (disabled)' -r
complete -c barman -n "__fish_barman_using_subcommand cloud-wal-restore" -l spool-dir -d 'Specifies a spool directory for extra WAL files that are downloaded in parallel. Defaults to \'/var/tmp/walrestore\'' -r -F
complete -c barman -n "__fish_barman_using_subcommand cloud-wal-restore" -s c -l config -d 'uses a configuration file (defaults: ~/.barman.conf, /etc/barman.conf, /etc/barman/barman.conf)' -r -F
complete -c barman -n "__fish_barman_using_subcommand cloud-wal-restore" -l color -l colour -d 'use coloured output' -r -f -a "never\t'never colour'
always\t'always colour'
auto\t'colour when stdout and stderr are terminals'"
complete -c barman -n "__fish_barman_using_subcommand cloud-wal-restore" -l log-level -d 'override the default log level' -r -f -a "NOTSET\t'NOTSET'
DEBUG\t'DEBUG'
INFO\t'INFO'
WARNING\t'WARNING'
ERROR\t'ERROR'
CRITICAL\t'CRITICAL'"
complete -c barman -n "__fish_barman_using_subcommand cloud-wal-restore" -s f -l format -d 'output format' -r -f -a "console\t'human-readable lines'
json\t'one JSON object'"
complete -c barman -n "__fish_barman_using_subcommand cloud-wal-restore" -s v -l version -d 'show program\'s version number and exit'
complete -c barman -n "__fish_barman_using_subcommand cloud-wal-restore" -s q -l quiet -d 'be quiet'
complete -c barman -n "__fish_barman_using_subcommand cloud-wal-restore" -s d -l debug -d 'debug output'
complete -c barman -n "__fish_barman_using_subcommand cloud-wal-restore" -s h -l help -d 'show this help message and exit'
complete -c barman -n "__fish_barman_using_subcommand config-switch" -s c -l config -d 'uses a configuration file (defaults: ~/.barman.conf, /etc/barman.conf, /etc/barman/barman.conf)' -r -F
complete -c barman -n "__fish_barman_using_subcommand config-switch" -l color -l colour -d 'use coloured output' -r -f -a "never\t'never colour'
always\t'always colour'
auto\t'colour when stdout and stderr are terminals'"
complete -c barman -n "__fish_barman_using_subcommand config-switch" -l log-level -d 'override the default log level' -r -f -a "NOTSET\t'NOTSET'
DEBUG\t'DEBUG'
INFO\t'INFO'
WARNING\t'WARNING'
ERROR\t'ERROR'
CRITICAL\t'CRITICAL'"
complete -c barman -n "__fish_barman_using_subcommand config-switch" -s f -l format -d 'output format' -r -f -a "console\t'human-readable lines'
json\t'one JSON object'"
complete -c barman -n "__fish_barman_using_subcommand config-switch" -l reset -d 'indicates that we should unapply the currently active model for the server'
complete -c barman -n "__fish_barman_using_subcommand config-switch" -s v -l version -d 'show program\'s version number and exit'
complete -c barman -n "__fish_barman_using_subcommand config-switch" -s q -l quiet -d 'be quiet'
complete -c barman -n "__fish_barman_using_subcommand config-switch" -s d -l debug -d 'debug output'
complete -c barman -n "__fish_barman_using_subcommand config-switch" -s h -l help -d 'show this help message and exit'
complete -c barman -n "__fish_barman_using_subcommand config-update" -s c -l config -d 'uses a configuration file (defaults: ~/.barman.conf, /etc/barman.conf, /etc/barman/barman.conf)' -r -F
complete -c barman -n "__fish_barman_using_subcommand config-update" -l color -l colour -d 'use coloured output' -r -f -a "never\t'never colour'
always\t'always colour'
auto\t'colour when stdout and stderr are terminals'"
complete -c barman -n "__fish_barman_using_subcommand config-update" -l log-level -d 'override the default log level' -r -f -a "NOTSET\t'NOTSET'
DEBUG\t'DEBUG'
INFO\t'INFO'
WARNING\t'WARNING'
ERROR\t'ERROR'
CRITICAL\t'CRITICAL'"
complete -c barman -n "__fish_barman_using_subcommand config-update" -s f -l format -d 'output format' -r -f -a "console\t'human-readable lines'
json\t'one JSON object'"
complete -c barman -n "__fish_barman_using_subcommand config-update" -s v -l version -d 'show program\'s version number and exit'
complete -c barman -n "__fish_barman_using_subcommand config-update" -s q -l quiet -d 'be quiet'
complete -c barman -n "__fish_barman_using_subcommand config-update" -s d -l debug -d 'debug output'
complete -c barman -n "__fish_barman_using_subcommand config-update" -s h -l help -d 'show this help message and exit'
complete -c barman -n "__fish_barman_using_subcommand cron" -s c -l config -d 'uses a configuration file (defaults: ~/.barman.conf, /etc/barman.conf, /etc/barman/barman.conf)' -r -F
complete -c barman -n "__fish_barman_using_subcommand cron" -l color -l colour -d 'use coloured output' -r -f -a "never\t'never colour'
always\t'always colour'
auto\t'colour when stdout and stderr are terminals'"
complete -c barman -n "__fish_barman_using_subcommand cron" -l log-level -d 'override the default log level' -r -f -a "NOTSET\t'NOTSET'
DEBUG\t'DEBUG'
INFO\t'INFO'
WARNING\t'WARNING'
ERROR\t'ERROR'
CRITICAL\t'CRITICAL'"
complete -c barman -n "__fish_barman_using_subcommand cron" -s f -l format -d 'output format' -r -f -a "console\t'human-readable lines'
json\t'one JSON object'"
complete -c barman -n "__fish_barman_using_subcommand cron" -l keep-descriptors -d 'Keep the stdout and the stderr streams attached to Barman subprocesses'
complete -c barman -n "__fish_barman_using_subcommand cron" -s v -l version -d 'show program\'s version number and exit'
complete -c barman -n "__fish_barman_using_subcommand cron" -s q -l quiet -d 'be quiet'
complete -c barman -n "__fish_barman_using_subcommand cron" -s d -l debug -d 'debug output'
complete -c barman -n "__fish_barman_using_subcommand cron" -s h -l help -d 'show this help message and exit'
complete -c barman -n "__fish_barman_using_subcommand delete" -s c -l config -d 'uses a configuration file (defaults: ~/.barman.conf, /etc/barman.conf, /etc/barman/barman.conf)' -r -F
complete -c barman -n "__fish_barman_using_subcommand delete" -l color -l colour -d 'use coloured output' -r -f -a "never\t'never colour'
always\t'always colour'
auto\t'colour when stdout and stderr are terminals'"
complete -c barman -n "__fish_barman_using_subcommand delete" -l log-level -d 'override the default log level' -r -f -a "NOTSET\t'NOTSET'
DEBUG\t'DEBUG'
INFO\t'INFO'
WARNING\t'WARNING'
ERROR\t'ERROR'
CRITICAL\t'CRITICAL'"
complete -c barman -n "__fish_barman_using_subcommand delete" -s f -l format -d 'output format' -r -f -a "console\t'human-readable lines'
json\t'one JSON object'"
complete -c barman -n "__fish_barman_using_subcommand delete" -s v -l version -d 'show program\'s version number and exit'
complete -c barman -n "__fish_barman_using_subcommand delete" -s q -l quiet -d 'be quiet'
complete -c barman -n "__fish_barman_using_subcommand delete" -s d -l debug -d 'debug output'
complete -c barman -n "__fish_barman_using_subcommand delete" -s h -l help -d 'show this help message and exit'
complete -c barman -n "__fish_barman_using_subcommand diagnose" -s c -l config -d 'uses a configuration file (defaults: ~/.barman.conf, /etc/barman.conf, /etc/barman/barman.conf)' -r -F
complete -c barman -n "__fish_barman_using_subcommand diagnose" -l color -l colour -d 'use coloured output' -r -f -a "never\t'never colour'
always\t'always colour'
auto\t'colour when stdout and stderr are terminals'"
complete -c barman -n "__fish_barman_using_subcommand diagnose" -l log-level -d 'override the default log level' -r -f -a "NOTSET\t'NOTSET'
DEBUG\t'DEBUG'
INFO\t'INFO'
WARNING\t'WARNING'
ERROR\t'ERROR'
CRITICAL\t'CRITICAL'"
complete -c barman -n "__fish_barman_using_subcommand diagnose" -s f -l format -d 'output format' -r -f -a "console\t'human-readable lines'
json\t'one JSON object'"
complete -c barman -n "__fish_barman_using_subcommand diagnose" -l show-config-source -d 'Include the source file which provides the effective value for each configuration option'
complete -c barman -n "__fish_barman_using_subcommand diagnose" -s v -l version -d 'show program\'s version number and exit'
complete -c barman -n "__fish_barman_using_subcommand diagnose" -s q -l quiet -d 'be quiet'
complete -c barman -n "__fish_barman_using_subcommand diagnose" -s d -l debug -d 'debug output'
complete -c barman -n "__fish_barman_using_subcommand diagnose" -s h -l help -d 'show this help message and exit'
complete -c barman -n "__fish_barman_using_subcommand drill" -l target-time -d 'target time for the drill\'s recovery' -r
complete -c barman -n "__fish_barman_using_subcommand drill" -l target-xid -d 'target transaction ID for the drill\'s recovery' -r
complete -c barman -n "__fish_barman_using_subcommand drill" -l target-lsn -d 'target LSN (Log Sequence Number) for the drill\'s recovery' -r
complete -c barman -n "__fish_barman_using_subcommand drill" -l target-name -d 'target name created previously with pg_create_restore_point()' -r
complete -c barman -n "__fish_barman_using_subcommand drill" -s j -l jobs -d 'parallel workers for the restore copy and pg_amcheck' -r
complete -c barman -n "__fish_barman_using_subcommand drill" -s c -l config -d 'uses a configuration file (defaults: ~/.barman.conf, /etc/barman.conf, /etc/barman/barman.conf)' -r -F
complete -c barman -n "__fish_barman_using_subcommand drill" -l color -l colour -d 'use coloured output' -r -f -a "never\t'never colour'
always\t'always colour'
auto\t'colour when stdout and stderr are terminals'"
complete -c barman -n "__fish_barman_using_subcommand drill" -l log-level -d 'override the default log level' -r -f -a "NOTSET\t'NOTSET'
DEBUG\t'DEBUG'
INFO\t'INFO'
WARNING\t'WARNING'
ERROR\t'ERROR'
CRITICAL\t'CRITICAL'"
complete -c barman -n "__fish_barman_using_subcommand drill" -s f -l format -d 'output format' -r -f -a "console\t'human-readable lines'
json\t'one JSON object'"
complete -c barman -n "__fish_barman_using_subcommand drill" -l target-immediate -d 'end recovery as soon as a consistent state is reached'
complete -c barman -n "__fish_barman_using_subcommand drill" -s v -l version -d 'show program\'s version number and exit'
complete -c barman -n "__fish_barman_using_subcommand drill" -s q -l quiet -d 'be quiet'
complete -c barman -n "__fish_barman_using_subcommand drill" -s d -l debug -d 'debug output'
complete -c barman -n "__fish_barman_using_subcommand drill" -s h -l help -d 'show this help message and exit'
complete -c barman -n "__fish_barman_using_subcommand export-backup" -l compression -d 'if specified, compress the exported tarball using the given algorithm (default: no compression)' -r -f -a "gzip\t'gzip (.tar.gz)'
bzip2\t'bzip2 (.tar.bz2)'
xz\t'xz (.tar.xz)'"
complete -c barman -n "__fish_barman_using_subcommand export-backup" -l compression-level -d 'compression level for the specified algorithm, if any. Valid levels are 1-9 for gzip/bzip2, 0-9 for xz (default: algorithm default level)' -r
complete -c barman -n "__fish_barman_using_subcommand export-backup" -s c -l config -d 'uses a configuration file (defaults: ~/.barman.conf, /etc/barman.conf, /etc/barman/barman.conf)' -r -F
complete -c barman -n "__fish_barman_using_subcommand export-backup" -l color -l colour -d 'use coloured output' -r -f -a "never\t'never colour'
always\t'always colour'
auto\t'colour when stdout and stderr are terminals'"
complete -c barman -n "__fish_barman_using_subcommand export-backup" -l log-level -d 'override the default log level' -r -f -a "NOTSET\t'NOTSET'
DEBUG\t'DEBUG'
INFO\t'INFO'
WARNING\t'WARNING'
ERROR\t'ERROR'
CRITICAL\t'CRITICAL'"
complete -c barman -n "__fish_barman_using_subcommand export-backup" -s f -l format -d 'output format' -r -f -a "console\t'human-readable lines'
json\t'one JSON object'"
complete -c barman -n "__fish_barman_using_subcommand export-backup" -s v -l version -d 'show program\'s version number and exit'
complete -c barman -n "__fish_barman_using_subcommand export-backup" -s q -l quiet -d 'be quiet'
complete -c barman -n "__fish_barman_using_subcommand export-backup" -s d -l debug -d 'debug output'
complete -c barman -n "__fish_barman_using_subcommand export-backup" -s h -l help -d 'show this help message and exit'
complete -c barman -n "__fish_barman_using_subcommand generate-manifest" -s c -l config -d 'uses a configuration file (defaults: ~/.barman.conf, /etc/barman.conf, /etc/barman/barman.conf)' -r -F
complete -c barman -n "__fish_barman_using_subcommand generate-manifest" -l color -l colour -d 'use coloured output' -r -f -a "never\t'never colour'
always\t'always colour'
auto\t'colour when stdout and stderr are terminals'"
complete -c barman -n "__fish_barman_using_subcommand generate-manifest" -l log-level -d 'override the default log level' -r -f -a "NOTSET\t'NOTSET'
DEBUG\t'DEBUG'
INFO\t'INFO'
WARNING\t'WARNING'
ERROR\t'ERROR'
CRITICAL\t'CRITICAL'"
complete -c barman -n "__fish_barman_using_subcommand generate-manifest" -s f -l format -d 'output format' -r -f -a "console\t'human-readable lines'
json\t'one JSON object'"
complete -c barman -n "__fish_barman_using_subcommand generate-manifest" -s v -l version -d 'show program\'s version number and exit'
complete -c barman -n "__fish_barman_using_subcommand generate-manifest" -s q -l quiet -d 'be quiet'
complete -c barman -n "__fish_barman_using_subcommand generate-manifest" -s d -l debug -d 'debug output'
complete -c barman -n "__fish_barman_using_subcommand generate-manifest" -s h -l help -d 'show this help message and exit'
complete -c barman -n "__fish_barman_using_subcommand get-wal" -s o -l output-directory -d 'put the retrieved WAL file in this directory with the original name' -r -F
complete -c barman -n "__fish_barman_using_subcommand get-wal" -s p -l peek -d 'peek from the WAL archive up to \'SIZE\' WAL files, starting from the requested one. \'SIZE\' must be an integer >= 1. When invoked with this option, get-wal returns a list of zero to \'SIZE\' WAL segment names, one per row' -r
complete -c barman -n "__fish_barman_using_subcommand get-wal" -s c -l config -d 'uses a configuration file (defaults: ~/.barman.conf, /etc/barman.conf, /etc/barman/barman.conf)' -r -F
complete -c barman -n "__fish_barman_using_subcommand get-wal" -l color -l colour -d 'use coloured output' -r -f -a "never\t'never colour'
always\t'always colour'
auto\t'colour when stdout and stderr are terminals'"
complete -c barman -n "__fish_barman_using_subcommand get-wal" -l log-level -d 'override the default log level' -r -f -a "NOTSET\t'NOTSET'
DEBUG\t'DEBUG'
INFO\t'INFO'
WARNING\t'WARNING'
ERROR\t'ERROR'
CRITICAL\t'CRITICAL'"
complete -c barman -n "__fish_barman_using_subcommand get-wal" -s f -l format -d 'output format' -r -f -a "console\t'human-readable lines'
json\t'one JSON object'"
complete -c barman -n "__fish_barman_using_subcommand get-wal" -s P -l partial -d 'retrieve only partial WAL files (.partial)'
complete -c barman -n "__fish_barman_using_subcommand get-wal" -s z -l gzip -d 'compress the output with gzip'
complete -c barman -n "__fish_barman_using_subcommand get-wal" -s j -l bzip2 -d 'compress the output with bzip2'
complete -c barman -n "__fish_barman_using_subcommand get-wal" -l keep-compression -d 'do not decompress the output if compressed'
complete -c barman -n "__fish_barman_using_subcommand get-wal" -s t -l test -d 'test both the connection and the configuration of the requested PostgreSQL server in Barman for WAL retrieval. With this option, the \'wal_name\' mandatory argument is ignored'
complete -c barman -n "__fish_barman_using_subcommand get-wal" -s v -l version -d 'show program\'s version number and exit'
complete -c barman -n "__fish_barman_using_subcommand get-wal" -s q -l quiet -d 'be quiet'
complete -c barman -n "__fish_barman_using_subcommand get-wal" -s d -l debug -d 'debug output'
complete -c barman -n "__fish_barman_using_subcommand get-wal" -s h -l help -d 'show this help message and exit'
complete -c barman -n "__fish_barman_using_subcommand help" -s c -l config -d 'uses a configuration file (defaults: ~/.barman.conf, /etc/barman.conf, /etc/barman/barman.conf)' -r -F
complete -c barman -n "__fish_barman_using_subcommand help" -l color -l colour -d 'use coloured output' -r -f -a "never\t'never colour'
always\t'always colour'
auto\t'colour when stdout and stderr are terminals'"
complete -c barman -n "__fish_barman_using_subcommand help" -l log-level -d 'override the default log level' -r -f -a "NOTSET\t'NOTSET'
DEBUG\t'DEBUG'
INFO\t'INFO'
WARNING\t'WARNING'
ERROR\t'ERROR'
CRITICAL\t'CRITICAL'"
complete -c barman -n "__fish_barman_using_subcommand help" -s f -l format -d 'output format' -r -f -a "console\t'human-readable lines'
json\t'one JSON object'"
complete -c barman -n "__fish_barman_using_subcommand help" -s v -l version -d 'show program\'s version number and exit'
complete -c barman -n "__fish_barman_using_subcommand help" -s q -l quiet -d 'be quiet'
complete -c barman -n "__fish_barman_using_subcommand help" -s d -l debug -d 'debug output'
complete -c barman -n "__fish_barman_using_subcommand help" -s h -l help -d 'show this help message and exit'
complete -c barman -n "__fish_barman_using_subcommand import-backup" -s c -l config -d 'uses a configuration file (defaults: ~/.barman.conf, /etc/barman.conf, /etc/barman/barman.conf)' -r -F
complete -c barman -n "__fish_barman_using_subcommand import-backup" -l color -l colour -d 'use coloured output' -r -f -a "never\t'never colour'
always\t'always colour'
auto\t'colour when stdout and stderr are terminals'"
complete -c barman -n "__fish_barman_using_subcommand import-backup" -l log-level -d 'override the default log level' -r -f -a "NOTSET\t'NOTSET'
DEBUG\t'DEBUG'
INFO\t'INFO'
WARNING\t'WARNING'
ERROR\t'ERROR'
CRITICAL\t'CRITICAL'"
complete -c barman -n "__fish_barman_using_subcommand import-backup" -s f -l format -d 'output format' -r -f -a "console\t'human-readable lines'
json\t'one JSON object'"
complete -c barman -n "__fish_barman_using_subcommand import-backup" -s v -l version -d 'show program\'s version number and exit'
complete -c barman -n "__fish_barman_using_subcommand import-backup" -s q -l quiet -d 'be quiet'
complete -c barman -n "__fish_barman_using_subcommand import-backup" -s d -l debug -d 'debug output'
complete -c barman -n "__fish_barman_using_subcommand import-backup" -s h -l help -d 'show this help message and exit'
complete -c barman -n "__fish_barman_using_subcommand keep" -l target -d 'keep this backup with the specified recovery target' -r -f -a "full\t'keep the backup and every WAL after it (point-in-time recovery stays possible)'
standalone\t'keep the backup and only the WALs needed to make it consistent'"
complete -c barman -n "__fish_barman_using_subcommand keep" -s c -l config -d 'uses a configuration file (defaults: ~/.barman.conf, /etc/barman.conf, /etc/barman/barman.conf)' -r -F
complete -c barman -n "__fish_barman_using_subcommand keep" -l color -l colour -d 'use coloured output' -r -f -a "never\t'never colour'
always\t'always colour'
auto\t'colour when stdout and stderr are terminals'"
complete -c barman -n "__fish_barman_using_subcommand keep" -l log-level -d 'override the default log level' -r -f -a "NOTSET\t'NOTSET'
DEBUG\t'DEBUG'
INFO\t'INFO'
WARNING\t'WARNING'
ERROR\t'ERROR'
CRITICAL\t'CRITICAL'"
complete -c barman -n "__fish_barman_using_subcommand keep" -s f -l format -d 'output format' -r -f -a "console\t'human-readable lines'
json\t'one JSON object'"
complete -c barman -n "__fish_barman_using_subcommand keep" -s r -l release -d 'remove the keep annotation'
complete -c barman -n "__fish_barman_using_subcommand keep" -s s -l status -d 'return the keep status of the backup'
complete -c barman -n "__fish_barman_using_subcommand keep" -s v -l version -d 'show program\'s version number and exit'
complete -c barman -n "__fish_barman_using_subcommand keep" -s q -l quiet -d 'be quiet'
complete -c barman -n "__fish_barman_using_subcommand keep" -s d -l debug -d 'debug output'
complete -c barman -n "__fish_barman_using_subcommand keep" -s h -l help -d 'show this help message and exit'
complete -c barman -n "__fish_barman_using_subcommand list-backups" -s c -l config -d 'uses a configuration file (defaults: ~/.barman.conf, /etc/barman.conf, /etc/barman/barman.conf)' -r -F
complete -c barman -n "__fish_barman_using_subcommand list-backups" -l color -l colour -d 'use coloured output' -r -f -a "never\t'never colour'
always\t'always colour'
auto\t'colour when stdout and stderr are terminals'"
complete -c barman -n "__fish_barman_using_subcommand list-backups" -l log-level -d 'override the default log level' -r -f -a "NOTSET\t'NOTSET'
DEBUG\t'DEBUG'
INFO\t'INFO'
WARNING\t'WARNING'
ERROR\t'ERROR'
CRITICAL\t'CRITICAL'"
complete -c barman -n "__fish_barman_using_subcommand list-backups" -s f -l format -d 'output format' -r -f -a "console\t'human-readable lines'
json\t'one JSON object'"
complete -c barman -n "__fish_barman_using_subcommand list-backups" -l minimal -d 'machine readable output'
complete -c barman -n "__fish_barman_using_subcommand list-backups" -s v -l version -d 'show program\'s version number and exit'
complete -c barman -n "__fish_barman_using_subcommand list-backups" -s q -l quiet -d 'be quiet'
complete -c barman -n "__fish_barman_using_subcommand list-backups" -s d -l debug -d 'debug output'
complete -c barman -n "__fish_barman_using_subcommand list-backups" -s h -l help -d 'show this help message and exit'
complete -c barman -n "__fish_barman_using_subcommand list-backup" -s c -l config -d 'uses a configuration file (defaults: ~/.barman.conf, /etc/barman.conf, /etc/barman/barman.conf)' -r -F
complete -c barman -n "__fish_barman_using_subcommand list-backup" -l color -l colour -d 'use coloured output' -r -f -a "never\t'never colour'
always\t'always colour'
auto\t'colour when stdout and stderr are terminals'"
complete -c barman -n "__fish_barman_using_subcommand list-backup" -l log-level -d 'override the default log level' -r -f -a "NOTSET\t'NOTSET'
DEBUG\t'DEBUG'
INFO\t'INFO'
WARNING\t'WARNING'
ERROR\t'ERROR'
CRITICAL\t'CRITICAL'"
complete -c barman -n "__fish_barman_using_subcommand list-backup" -s f -l format -d 'output format' -r -f -a "console\t'human-readable lines'
json\t'one JSON object'"
complete -c barman -n "__fish_barman_using_subcommand list-backup" -l minimal -d 'machine readable output'
complete -c barman -n "__fish_barman_using_subcommand list-backup" -s v -l version -d 'show program\'s version number and exit'
complete -c barman -n "__fish_barman_using_subcommand list-backup" -s q -l quiet -d 'be quiet'
complete -c barman -n "__fish_barman_using_subcommand list-backup" -s d -l debug -d 'debug output'
complete -c barman -n "__fish_barman_using_subcommand list-backup" -s h -l help -d 'show this help message and exit'
complete -c barman -n "__fish_barman_using_subcommand list-files" -l target -d 'Possible values are: data (just the data files), standalone (base backup files, including required WAL files), wal (just WAL files between the beginning of base backup and the following one (if any) or the end of the log) and full (same as data + wal). Defaults to standalone' -r -f -a "standalone\t'base backup files, including required WAL files'
data\t'just the data files'
wal\t'just WAL files between the beginning of base backup and the following one (if any) or the end of the log'
full\t'same as data + wal'"
complete -c barman -n "__fish_barman_using_subcommand list-files" -s c -l config -d 'uses a configuration file (defaults: ~/.barman.conf, /etc/barman.conf, /etc/barman/barman.conf)' -r -F
complete -c barman -n "__fish_barman_using_subcommand list-files" -l color -l colour -d 'use coloured output' -r -f -a "never\t'never colour'
always\t'always colour'
auto\t'colour when stdout and stderr are terminals'"
complete -c barman -n "__fish_barman_using_subcommand list-files" -l log-level -d 'override the default log level' -r -f -a "NOTSET\t'NOTSET'
DEBUG\t'DEBUG'
INFO\t'INFO'
WARNING\t'WARNING'
ERROR\t'ERROR'
CRITICAL\t'CRITICAL'"
complete -c barman -n "__fish_barman_using_subcommand list-files" -s f -l format -d 'output format' -r -f -a "console\t'human-readable lines'
json\t'one JSON object'"
complete -c barman -n "__fish_barman_using_subcommand list-files" -l list-empty-directories -d 'Also includes empty directories in the list'
complete -c barman -n "__fish_barman_using_subcommand list-files" -s v -l version -d 'show program\'s version number and exit'
complete -c barman -n "__fish_barman_using_subcommand list-files" -s q -l quiet -d 'be quiet'
complete -c barman -n "__fish_barman_using_subcommand list-files" -s d -l debug -d 'debug output'
complete -c barman -n "__fish_barman_using_subcommand list-files" -s h -l help -d 'show this help message and exit'
complete -c barman -n "__fish_barman_using_subcommand list-processes" -s c -l config -d 'uses a configuration file (defaults: ~/.barman.conf, /etc/barman.conf, /etc/barman/barman.conf)' -r -F
complete -c barman -n "__fish_barman_using_subcommand list-processes" -l color -l colour -d 'use coloured output' -r -f -a "never\t'never colour'
always\t'always colour'
auto\t'colour when stdout and stderr are terminals'"
complete -c barman -n "__fish_barman_using_subcommand list-processes" -l log-level -d 'override the default log level' -r -f -a "NOTSET\t'NOTSET'
DEBUG\t'DEBUG'
INFO\t'INFO'
WARNING\t'WARNING'
ERROR\t'ERROR'
CRITICAL\t'CRITICAL'"
complete -c barman -n "__fish_barman_using_subcommand list-processes" -s f -l format -d 'output format' -r -f -a "console\t'human-readable lines'
json\t'one JSON object'"
complete -c barman -n "__fish_barman_using_subcommand list-processes" -s v -l version -d 'show program\'s version number and exit'
complete -c barman -n "__fish_barman_using_subcommand list-processes" -s q -l quiet -d 'be quiet'
complete -c barman -n "__fish_barman_using_subcommand list-processes" -s d -l debug -d 'debug output'
complete -c barman -n "__fish_barman_using_subcommand list-processes" -s h -l help -d 'show this help message and exit'
complete -c barman -n "__fish_barman_using_subcommand list-process" -s c -l config -d 'uses a configuration file (defaults: ~/.barman.conf, /etc/barman.conf, /etc/barman/barman.conf)' -r -F
complete -c barman -n "__fish_barman_using_subcommand list-process" -l color -l colour -d 'use coloured output' -r -f -a "never\t'never colour'
always\t'always colour'
auto\t'colour when stdout and stderr are terminals'"
complete -c barman -n "__fish_barman_using_subcommand list-process" -l log-level -d 'override the default log level' -r -f -a "NOTSET\t'NOTSET'
DEBUG\t'DEBUG'
INFO\t'INFO'
WARNING\t'WARNING'
ERROR\t'ERROR'
CRITICAL\t'CRITICAL'"
complete -c barman -n "__fish_barman_using_subcommand list-process" -s f -l format -d 'output format' -r -f -a "console\t'human-readable lines'
json\t'one JSON object'"
complete -c barman -n "__fish_barman_using_subcommand list-process" -s v -l version -d 'show program\'s version number and exit'
complete -c barman -n "__fish_barman_using_subcommand list-process" -s q -l quiet -d 'be quiet'
complete -c barman -n "__fish_barman_using_subcommand list-process" -s d -l debug -d 'debug output'
complete -c barman -n "__fish_barman_using_subcommand list-process" -s h -l help -d 'show this help message and exit'
complete -c barman -n "__fish_barman_using_subcommand list-servers" -s c -l config -d 'uses a configuration file (defaults: ~/.barman.conf, /etc/barman.conf, /etc/barman/barman.conf)' -r -F
complete -c barman -n "__fish_barman_using_subcommand list-servers" -l color -l colour -d 'use coloured output' -r -f -a "never\t'never colour'
always\t'always colour'
auto\t'colour when stdout and stderr are terminals'"
complete -c barman -n "__fish_barman_using_subcommand list-servers" -l log-level -d 'override the default log level' -r -f -a "NOTSET\t'NOTSET'
DEBUG\t'DEBUG'
INFO\t'INFO'
WARNING\t'WARNING'
ERROR\t'ERROR'
CRITICAL\t'CRITICAL'"
complete -c barman -n "__fish_barman_using_subcommand list-servers" -s f -l format -d 'output format' -r -f -a "console\t'human-readable lines'
json\t'one JSON object'"
complete -c barman -n "__fish_barman_using_subcommand list-servers" -l minimal -d 'machine readable output'
complete -c barman -n "__fish_barman_using_subcommand list-servers" -s v -l version -d 'show program\'s version number and exit'
complete -c barman -n "__fish_barman_using_subcommand list-servers" -s q -l quiet -d 'be quiet'
complete -c barman -n "__fish_barman_using_subcommand list-servers" -s d -l debug -d 'debug output'
complete -c barman -n "__fish_barman_using_subcommand list-servers" -s h -l help -d 'show this help message and exit'
complete -c barman -n "__fish_barman_using_subcommand list-server" -s c -l config -d 'uses a configuration file (defaults: ~/.barman.conf, /etc/barman.conf, /etc/barman/barman.conf)' -r -F
complete -c barman -n "__fish_barman_using_subcommand list-server" -l color -l colour -d 'use coloured output' -r -f -a "never\t'never colour'
always\t'always colour'
auto\t'colour when stdout and stderr are terminals'"
complete -c barman -n "__fish_barman_using_subcommand list-server" -l log-level -d 'override the default log level' -r -f -a "NOTSET\t'NOTSET'
DEBUG\t'DEBUG'
INFO\t'INFO'
WARNING\t'WARNING'
ERROR\t'ERROR'
CRITICAL\t'CRITICAL'"
complete -c barman -n "__fish_barman_using_subcommand list-server" -s f -l format -d 'output format' -r -f -a "console\t'human-readable lines'
json\t'one JSON object'"
complete -c barman -n "__fish_barman_using_subcommand list-server" -l minimal -d 'machine readable output'
complete -c barman -n "__fish_barman_using_subcommand list-server" -s v -l version -d 'show program\'s version number and exit'
complete -c barman -n "__fish_barman_using_subcommand list-server" -s q -l quiet -d 'be quiet'
complete -c barman -n "__fish_barman_using_subcommand list-server" -s d -l debug -d 'debug output'
complete -c barman -n "__fish_barman_using_subcommand list-server" -s h -l help -d 'show this help message and exit'
complete -c barman -n "__fish_barman_using_subcommand lock-directory-cleanup" -s c -l config -d 'uses a configuration file (defaults: ~/.barman.conf, /etc/barman.conf, /etc/barman/barman.conf)' -r -F
complete -c barman -n "__fish_barman_using_subcommand lock-directory-cleanup" -l color -l colour -d 'use coloured output' -r -f -a "never\t'never colour'
always\t'always colour'
auto\t'colour when stdout and stderr are terminals'"
complete -c barman -n "__fish_barman_using_subcommand lock-directory-cleanup" -l log-level -d 'override the default log level' -r -f -a "NOTSET\t'NOTSET'
DEBUG\t'DEBUG'
INFO\t'INFO'
WARNING\t'WARNING'
ERROR\t'ERROR'
CRITICAL\t'CRITICAL'"
complete -c barman -n "__fish_barman_using_subcommand lock-directory-cleanup" -s f -l format -d 'output format' -r -f -a "console\t'human-readable lines'
json\t'one JSON object'"
complete -c barman -n "__fish_barman_using_subcommand lock-directory-cleanup" -s v -l version -d 'show program\'s version number and exit'
complete -c barman -n "__fish_barman_using_subcommand lock-directory-cleanup" -s q -l quiet -d 'be quiet'
complete -c barman -n "__fish_barman_using_subcommand lock-directory-cleanup" -s d -l debug -d 'debug output'
complete -c barman -n "__fish_barman_using_subcommand lock-directory-cleanup" -s h -l help -d 'show this help message and exit'
complete -c barman -n "__fish_barman_using_subcommand metrics" -s c -l config -d 'uses a configuration file (defaults: ~/.barman.conf, /etc/barman.conf, /etc/barman/barman.conf)' -r -F
complete -c barman -n "__fish_barman_using_subcommand metrics" -l color -l colour -d 'use coloured output' -r -f -a "never\t'never colour'
always\t'always colour'
auto\t'colour when stdout and stderr are terminals'"
complete -c barman -n "__fish_barman_using_subcommand metrics" -l log-level -d 'override the default log level' -r -f -a "NOTSET\t'NOTSET'
DEBUG\t'DEBUG'
INFO\t'INFO'
WARNING\t'WARNING'
ERROR\t'ERROR'
CRITICAL\t'CRITICAL'"
complete -c barman -n "__fish_barman_using_subcommand metrics" -s f -l format -d 'output format' -r -f -a "console\t'human-readable lines'
json\t'one JSON object'"
complete -c barman -n "__fish_barman_using_subcommand metrics" -s v -l version -d 'show program\'s version number and exit'
complete -c barman -n "__fish_barman_using_subcommand metrics" -s q -l quiet -d 'be quiet'
complete -c barman -n "__fish_barman_using_subcommand metrics" -s d -l debug -d 'debug output'
complete -c barman -n "__fish_barman_using_subcommand metrics" -s h -l help -d 'show this help message and exit'
complete -c barman -n "__fish_barman_using_subcommand put-wal" -s c -l config -d 'uses a configuration file (defaults: ~/.barman.conf, /etc/barman.conf, /etc/barman/barman.conf)' -r -F
complete -c barman -n "__fish_barman_using_subcommand put-wal" -l color -l colour -d 'use coloured output' -r -f -a "never\t'never colour'
always\t'always colour'
auto\t'colour when stdout and stderr are terminals'"
complete -c barman -n "__fish_barman_using_subcommand put-wal" -l log-level -d 'override the default log level' -r -f -a "NOTSET\t'NOTSET'
DEBUG\t'DEBUG'
INFO\t'INFO'
WARNING\t'WARNING'
ERROR\t'ERROR'
CRITICAL\t'CRITICAL'"
complete -c barman -n "__fish_barman_using_subcommand put-wal" -s f -l format -d 'output format' -r -f -a "console\t'human-readable lines'
json\t'one JSON object'"
complete -c barman -n "__fish_barman_using_subcommand put-wal" -s t -l test -d 'test both the connection and the configuration of the requested PostgreSQL server in Barman to make sure it is ready to receive WAL files'
complete -c barman -n "__fish_barman_using_subcommand put-wal" -s v -l version -d 'show program\'s version number and exit'
complete -c barman -n "__fish_barman_using_subcommand put-wal" -s q -l quiet -d 'be quiet'
complete -c barman -n "__fish_barman_using_subcommand put-wal" -s d -l debug -d 'debug output'
complete -c barman -n "__fish_barman_using_subcommand put-wal" -s h -l help -d 'show this help message and exit'
complete -c barman -n "__fish_barman_using_subcommand receive-wal" -s c -l config -d 'uses a configuration file (defaults: ~/.barman.conf, /etc/barman.conf, /etc/barman/barman.conf)' -r -F
complete -c barman -n "__fish_barman_using_subcommand receive-wal" -l color -l colour -d 'use coloured output' -r -f -a "never\t'never colour'
always\t'always colour'
auto\t'colour when stdout and stderr are terminals'"
complete -c barman -n "__fish_barman_using_subcommand receive-wal" -l log-level -d 'override the default log level' -r -f -a "NOTSET\t'NOTSET'
DEBUG\t'DEBUG'
INFO\t'INFO'
WARNING\t'WARNING'
ERROR\t'ERROR'
CRITICAL\t'CRITICAL'"
complete -c barman -n "__fish_barman_using_subcommand receive-wal" -s f -l format -d 'output format' -r -f -a "console\t'human-readable lines'
json\t'one JSON object'"
complete -c barman -n "__fish_barman_using_subcommand receive-wal" -l stop -d 'stop the receive-wal subprocess for the server'
complete -c barman -n "__fish_barman_using_subcommand receive-wal" -l reset -d 'reset the status of receive-wal removing any status files'
complete -c barman -n "__fish_barman_using_subcommand receive-wal" -l create-slot -d 'create the replication slot, if it does not exist'
complete -c barman -n "__fish_barman_using_subcommand receive-wal" -l if-not-exists -d 'Do not error out if the slot already exists (with --create-slot)'
complete -c barman -n "__fish_barman_using_subcommand receive-wal" -l drop-slot -d 'drop the replication slot, if it exists'
complete -c barman -n "__fish_barman_using_subcommand receive-wal" -s v -l version -d 'show program\'s version number and exit'
complete -c barman -n "__fish_barman_using_subcommand receive-wal" -s q -l quiet -d 'be quiet'
complete -c barman -n "__fish_barman_using_subcommand receive-wal" -s d -l debug -d 'debug output'
complete -c barman -n "__fish_barman_using_subcommand receive-wal" -s h -l help -d 'show this help message and exit'
complete -c barman -n "__fish_barman_using_subcommand rebuild-xlogdb" -s c -l config -d 'uses a configuration file (defaults: ~/.barman.conf, /etc/barman.conf, /etc/barman/barman.conf)' -r -F
complete -c barman -n "__fish_barman_using_subcommand rebuild-xlogdb" -l color -l colour -d 'use coloured output' -r -f -a "never\t'never colour'
always\t'always colour'
auto\t'colour when stdout and stderr are terminals'"
complete -c barman -n "__fish_barman_using_subcommand rebuild-xlogdb" -l log-level -d 'override the default log level' -r -f -a "NOTSET\t'NOTSET'
DEBUG\t'DEBUG'
INFO\t'INFO'
WARNING\t'WARNING'
ERROR\t'ERROR'
CRITICAL\t'CRITICAL'"
complete -c barman -n "__fish_barman_using_subcommand rebuild-xlogdb" -s f -l format -d 'output format' -r -f -a "console\t'human-readable lines'
json\t'one JSON object'"
complete -c barman -n "__fish_barman_using_subcommand rebuild-xlogdb" -s v -l version -d 'show program\'s version number and exit'
complete -c barman -n "__fish_barman_using_subcommand rebuild-xlogdb" -s q -l quiet -d 'be quiet'
complete -c barman -n "__fish_barman_using_subcommand rebuild-xlogdb" -s d -l debug -d 'debug output'
complete -c barman -n "__fish_barman_using_subcommand rebuild-xlogdb" -s h -l help -d 'show this help message and exit'
complete -c barman -n "__fish_barman_using_subcommand replication-status" -l target -d 'Possible values are: \'hot-standby\' (only hot standby servers), \'wal-streamer\' (only WAL streaming clients, such as pg_receivewal), \'all\' (any of them). Defaults to \'all\'' -r -f -a "all\t'every streaming client'
hot-standby\t'hot standby servers'
wal-streamer\t'WAL streamers'"
complete -c barman -n "__fish_barman_using_subcommand replication-status" -l source -d 'The source of the connection: \'backup-host\' (conninfo) or \'wal-host\' (wal_conninfo)' -r -f -a "backup-host\t'the server Barman backs up (conninfo)'
wal-host\t'the server WAL comes from (wal_conninfo)'"
complete -c barman -n "__fish_barman_using_subcommand replication-status" -s c -l config -d 'uses a configuration file (defaults: ~/.barman.conf, /etc/barman.conf, /etc/barman/barman.conf)' -r -F
complete -c barman -n "__fish_barman_using_subcommand replication-status" -l color -l colour -d 'use coloured output' -r -f -a "never\t'never colour'
always\t'always colour'
auto\t'colour when stdout and stderr are terminals'"
complete -c barman -n "__fish_barman_using_subcommand replication-status" -l log-level -d 'override the default log level' -r -f -a "NOTSET\t'NOTSET'
DEBUG\t'DEBUG'
INFO\t'INFO'
WARNING\t'WARNING'
ERROR\t'ERROR'
CRITICAL\t'CRITICAL'"
complete -c barman -n "__fish_barman_using_subcommand replication-status" -s f -l format -d 'output format' -r -f -a "console\t'human-readable lines'
json\t'one JSON object'"
complete -c barman -n "__fish_barman_using_subcommand replication-status" -l minimal -d 'machine readable output'
complete -c barman -n "__fish_barman_using_subcommand replication-status" -s v -l version -d 'show program\'s version number and exit'
complete -c barman -n "__fish_barman_using_subcommand replication-status" -s q -l quiet -d 'be quiet'
complete -c barman -n "__fish_barman_using_subcommand replication-status" -s d -l debug -d 'debug output'
complete -c barman -n "__fish_barman_using_subcommand replication-status" -s h -l help -d 'show this help message and exit'
complete -c barman -n "__fish_barman_using_subcommand restore" -l target-tli -d 'target timeline' -r
complete -c barman -n "__fish_barman_using_subcommand restore" -l target-time -d 'target time. You can use any valid unambiguous representation. e.g: "YYYY-MM-DD HH:MM:SS.mmm"' -r
complete -c barman -n "__fish_barman_using_subcommand restore" -l target-xid -d 'target transaction ID' -r
complete -c barman -n "__fish_barman_using_subcommand restore" -l target-lsn -d 'target LSN (Log Sequence Number)' -r
complete -c barman -n "__fish_barman_using_subcommand restore" -l target-name -d 'target name created previously with pg_create_restore_point() function call' -r
complete -c barman -n "__fish_barman_using_subcommand restore" -l tablespace -d 'tablespace relocation rule' -r
complete -c barman -n "__fish_barman_using_subcommand restore" -l remote-ssh-command -d 'This options activates remote recovery, by specifying the secure shell command to be launched on a remote host. It is the equivalent of the "ssh_command" server option in the configuration file for remote recovery. Example: "ssh postgres@db2"' -r
complete -c barman -n "__fish_barman_using_subcommand restore" -l staging-wal-directory -d 'a staging directory in the target host for WAL files when performing PITR. If unspecified, it uses a `barman_wal` directory inside the destination directory' -r
complete -c barman -n "__fish_barman_using_subcommand restore" -l bwlimit -d 'maximum transfer rate in kilobytes per second. A value of 0 means no limit. Overrides \'bandwidth_limit\' configuration option' -r
complete -c barman -n "__fish_barman_using_subcommand restore" -l retry-times -d 'Number of retries after an error if base backup copy fails' -r
complete -c barman -n "__fish_barman_using_subcommand restore" -l retry-sleep -d 'Wait time after a failed base backup copy, before retrying' -r
complete -c barman -n "__fish_barman_using_subcommand restore" -s j -l jobs -d 'Run the copy in parallel using NJOBS processes' -r
complete -c barman -n "__fish_barman_using_subcommand restore" -l jobs-start-batch-period -d 'The time period in seconds over which a single batch of jobs will be started' -r
complete -c barman -n "__fish_barman_using_subcommand restore" -l jobs-start-batch-size -d 'The maximum number of Rsync jobs to start in a single batch' -r
complete -c barman -n "__fish_barman_using_subcommand restore" -l target-action -d 'Specifies what action the server should take once the recovery target is reached. This option is not allowed for PostgreSQL < 9.1. If PostgreSQL is between 9.1 and 9.4 included the only allowed value is "pause". If PostgreSQL is 9.5 or newer the possible values are "shutdown", "pause", "promote"' -r
complete -c barman -n "__fish_barman_using_subcommand restore" -l recovery-staging-path -d 'A path to a location on the recovery host where compressed backup files will be staged during the recovery' -r
complete -c barman -n "__fish_barman_using_subcommand restore" -l local-staging-path -d 'Where incremental backups are combined (deprecated: use --staging-path)' -r
complete -c barman -n "__fish_barman_using_subcommand restore" -l staging-path -d 'Where compressed backups are decompressed and incremental backups combined before the copy to the destination (default /tmp)' -r
complete -c barman -n "__fish_barman_using_subcommand restore" -l staging-location -d 'Specifies whether `--staging-path` is a local or remote path' -r -f -a "local\t''
remote\t''"
complete -c barman -n "__fish_barman_using_subcommand restore" -l combine-mode -d 'Specifies a copy mode for `pg_combinebackup` when combining incremental backups during a restore' -r -f -a "copy\t''
link\t''
clone\t''
copy-file-range\t''"
complete -c barman -n "__fish_barman_using_subcommand restore" -l recovery-conf-filename -d 'Name of the file to which recovery configuration options will be added for PostgreSQL 12 and later (default: postgresql.auto.conf)' -r
complete -c barman -n "__fish_barman_using_subcommand restore" -l recovery-option-port -d 'Port to be passed to the barman-wal-restore command in the recovery configuration' -r
complete -c barman -n "__fish_barman_using_subcommand restore" -l restore-command -d 'Restore command to be used in the recovery configuration, instead of the one Barman generates (get-wal mode only)' -r
complete -c barman -n "__fish_barman_using_subcommand restore" -s c -l config -d 'uses a configuration file (defaults: ~/.barman.conf, /etc/barman.conf, /etc/barman/barman.conf)' -r -F
complete -c barman -n "__fish_barman_using_subcommand restore" -l color -l colour -d 'use coloured output' -r -f -a "never\t'never colour'
always\t'always colour'
auto\t'colour when stdout and stderr are terminals'"
complete -c barman -n "__fish_barman_using_subcommand restore" -l log-level -d 'override the default log level' -r -f -a "NOTSET\t'NOTSET'
DEBUG\t'DEBUG'
INFO\t'INFO'
WARNING\t'WARNING'
ERROR\t'ERROR'
CRITICAL\t'CRITICAL'"
complete -c barman -n "__fish_barman_using_subcommand restore" -s f -l format -d 'output format' -r -f -a "console\t'human-readable lines'
json\t'one JSON object'"
complete -c barman -n "__fish_barman_using_subcommand restore" -l target-immediate -d 'end recovery as soon as a consistent state is reached'
complete -c barman -n "__fish_barman_using_subcommand restore" -l exclusive -d 'set target to be non inclusive'
complete -c barman -n "__fish_barman_using_subcommand restore" -l no-retry -d 'Disable base backup copy retry logic'
complete -c barman -n "__fish_barman_using_subcommand restore" -l get-wal -d 'Enable the get-wal option during the recovery'
complete -c barman -n "__fish_barman_using_subcommand restore" -l no-get-wal -d 'Disable the get-wal option during recovery'
complete -c barman -n "__fish_barman_using_subcommand restore" -l partial-wal -d 'Copy .partial WAL files, if any, to the recovery destination. Only applicable when --no-get-wal is used'
complete -c barman -n "__fish_barman_using_subcommand restore" -l skip-archive-wal -d 'Do not archive staged WALs before the restore'
complete -c barman -n "__fish_barman_using_subcommand restore" -l network-compression -d 'Enable network compression during remote recovery'
complete -c barman -n "__fish_barman_using_subcommand restore" -l no-network-compression -d 'Disable network compression during remote recovery'
complete -c barman -n "__fish_barman_using_subcommand restore" -l standby-mode -d 'Enable standby mode when starting the restored PostgreSQL instance'
complete -c barman -n "__fish_barman_using_subcommand restore" -l delta-restore -d 'Enable delta restore mode'
complete -c barman -n "__fish_barman_using_subcommand restore" -l no-delta-restore -d 'Disable delta restore mode'
complete -c barman -n "__fish_barman_using_subcommand restore" -s v -l version -d 'show program\'s version number and exit'
complete -c barman -n "__fish_barman_using_subcommand restore" -s q -l quiet -d 'be quiet'
complete -c barman -n "__fish_barman_using_subcommand restore" -s d -l debug -d 'debug output'
complete -c barman -n "__fish_barman_using_subcommand restore" -s h -l help -d 'show this help message and exit'
complete -c barman -n "__fish_barman_using_subcommand recover" -l target-tli -d 'target timeline' -r
complete -c barman -n "__fish_barman_using_subcommand recover" -l target-time -d 'target time. You can use any valid unambiguous representation. e.g: "YYYY-MM-DD HH:MM:SS.mmm"' -r
complete -c barman -n "__fish_barman_using_subcommand recover" -l target-xid -d 'target transaction ID' -r
complete -c barman -n "__fish_barman_using_subcommand recover" -l target-lsn -d 'target LSN (Log Sequence Number)' -r
complete -c barman -n "__fish_barman_using_subcommand recover" -l target-name -d 'target name created previously with pg_create_restore_point() function call' -r
complete -c barman -n "__fish_barman_using_subcommand recover" -l tablespace -d 'tablespace relocation rule' -r
complete -c barman -n "__fish_barman_using_subcommand recover" -l remote-ssh-command -d 'This options activates remote recovery, by specifying the secure shell command to be launched on a remote host. It is the equivalent of the "ssh_command" server option in the configuration file for remote recovery. Example: "ssh postgres@db2"' -r
complete -c barman -n "__fish_barman_using_subcommand recover" -l staging-wal-directory -d 'a staging directory in the target host for WAL files when performing PITR. If unspecified, it uses a `barman_wal` directory inside the destination directory' -r
complete -c barman -n "__fish_barman_using_subcommand recover" -l bwlimit -d 'maximum transfer rate in kilobytes per second. A value of 0 means no limit. Overrides \'bandwidth_limit\' configuration option' -r
complete -c barman -n "__fish_barman_using_subcommand recover" -l retry-times -d 'Number of retries after an error if base backup copy fails' -r
complete -c barman -n "__fish_barman_using_subcommand recover" -l retry-sleep -d 'Wait time after a failed base backup copy, before retrying' -r
complete -c barman -n "__fish_barman_using_subcommand recover" -s j -l jobs -d 'Run the copy in parallel using NJOBS processes' -r
complete -c barman -n "__fish_barman_using_subcommand recover" -l jobs-start-batch-period -d 'The time period in seconds over which a single batch of jobs will be started' -r
complete -c barman -n "__fish_barman_using_subcommand recover" -l jobs-start-batch-size -d 'The maximum number of Rsync jobs to start in a single batch' -r
complete -c barman -n "__fish_barman_using_subcommand recover" -l target-action -d 'Specifies what action the server should take once the recovery target is reached. This option is not allowed for PostgreSQL < 9.1. If PostgreSQL is between 9.1 and 9.4 included the only allowed value is "pause". If PostgreSQL is 9.5 or newer the possible values are "shutdown", "pause", "promote"' -r
complete -c barman -n "__fish_barman_using_subcommand recover" -l recovery-staging-path -d 'A path to a location on the recovery host where compressed backup files will be staged during the recovery' -r
complete -c barman -n "__fish_barman_using_subcommand recover" -l local-staging-path -d 'Where incremental backups are combined (deprecated: use --staging-path)' -r
complete -c barman -n "__fish_barman_using_subcommand recover" -l staging-path -d 'Where compressed backups are decompressed and incremental backups combined before the copy to the destination (default /tmp)' -r
complete -c barman -n "__fish_barman_using_subcommand recover" -l staging-location -d 'Specifies whether `--staging-path` is a local or remote path' -r -f -a "local\t''
remote\t''"
complete -c barman -n "__fish_barman_using_subcommand recover" -l combine-mode -d 'Specifies a copy mode for `pg_combinebackup` when combining incremental backups during a restore' -r -f -a "copy\t''
link\t''
clone\t''
copy-file-range\t''"
complete -c barman -n "__fish_barman_using_subcommand recover" -l recovery-conf-filename -d 'Name of the file to which recovery configuration options will be added for PostgreSQL 12 and later (default: postgresql.auto.conf)' -r
complete -c barman -n "__fish_barman_using_subcommand recover" -l recovery-option-port -d 'Port to be passed to the barman-wal-restore command in the recovery configuration' -r
complete -c barman -n "__fish_barman_using_subcommand recover" -l restore-command -d 'Restore command to be used in the recovery configuration, instead of the one Barman generates (get-wal mode only)' -r
complete -c barman -n "__fish_barman_using_subcommand recover" -s c -l config -d 'uses a configuration file (defaults: ~/.barman.conf, /etc/barman.conf, /etc/barman/barman.conf)' -r -F
complete -c barman -n "__fish_barman_using_subcommand recover" -l color -l colour -d 'use coloured output' -r -f -a "never\t'never colour'
always\t'always colour'
auto\t'colour when stdout and stderr are terminals'"
complete -c barman -n "__fish_barman_using_subcommand recover" -l log-level -d 'override the default log level' -r -f -a "NOTSET\t'NOTSET'
DEBUG\t'DEBUG'
INFO\t'INFO'
WARNING\t'WARNING'
ERROR\t'ERROR'
CRITICAL\t'CRITICAL'"
complete -c barman -n "__fish_barman_using_subcommand recover" -s f -l format -d 'output format' -r -f -a "console\t'human-readable lines'
json\t'one JSON object'"
complete -c barman -n "__fish_barman_using_subcommand recover" -l target-immediate -d 'end recovery as soon as a consistent state is reached'
complete -c barman -n "__fish_barman_using_subcommand recover" -l exclusive -d 'set target to be non inclusive'
complete -c barman -n "__fish_barman_using_subcommand recover" -l no-retry -d 'Disable base backup copy retry logic'
complete -c barman -n "__fish_barman_using_subcommand recover" -l get-wal -d 'Enable the get-wal option during the recovery'
complete -c barman -n "__fish_barman_using_subcommand recover" -l no-get-wal -d 'Disable the get-wal option during recovery'
complete -c barman -n "__fish_barman_using_subcommand recover" -l partial-wal -d 'Copy .partial WAL files, if any, to the recovery destination. Only applicable when --no-get-wal is used'
complete -c barman -n "__fish_barman_using_subcommand recover" -l skip-archive-wal -d 'Do not archive staged WALs before the restore'
complete -c barman -n "__fish_barman_using_subcommand recover" -l network-compression -d 'Enable network compression during remote recovery'
complete -c barman -n "__fish_barman_using_subcommand recover" -l no-network-compression -d 'Disable network compression during remote recovery'
complete -c barman -n "__fish_barman_using_subcommand recover" -l standby-mode -d 'Enable standby mode when starting the restored PostgreSQL instance'
complete -c barman -n "__fish_barman_using_subcommand recover" -l delta-restore -d 'Enable delta restore mode'
complete -c barman -n "__fish_barman_using_subcommand recover" -l no-delta-restore -d 'Disable delta restore mode'
complete -c barman -n "__fish_barman_using_subcommand recover" -s v -l version -d 'show program\'s version number and exit'
complete -c barman -n "__fish_barman_using_subcommand recover" -s q -l quiet -d 'be quiet'
complete -c barman -n "__fish_barman_using_subcommand recover" -s d -l debug -d 'debug output'
complete -c barman -n "__fish_barman_using_subcommand recover" -s h -l help -d 'show this help message and exit'
complete -c barman -n "__fish_barman_using_subcommand show-backup" -s c -l config -d 'uses a configuration file (defaults: ~/.barman.conf, /etc/barman.conf, /etc/barman/barman.conf)' -r -F
complete -c barman -n "__fish_barman_using_subcommand show-backup" -l color -l colour -d 'use coloured output' -r -f -a "never\t'never colour'
always\t'always colour'
auto\t'colour when stdout and stderr are terminals'"
complete -c barman -n "__fish_barman_using_subcommand show-backup" -l log-level -d 'override the default log level' -r -f -a "NOTSET\t'NOTSET'
DEBUG\t'DEBUG'
INFO\t'INFO'
WARNING\t'WARNING'
ERROR\t'ERROR'
CRITICAL\t'CRITICAL'"
complete -c barman -n "__fish_barman_using_subcommand show-backup" -s f -l format -d 'output format' -r -f -a "console\t'human-readable lines'
json\t'one JSON object'"
complete -c barman -n "__fish_barman_using_subcommand show-backup" -s v -l version -d 'show program\'s version number and exit'
complete -c barman -n "__fish_barman_using_subcommand show-backup" -s q -l quiet -d 'be quiet'
complete -c barman -n "__fish_barman_using_subcommand show-backup" -s d -l debug -d 'debug output'
complete -c barman -n "__fish_barman_using_subcommand show-backup" -s h -l help -d 'show this help message and exit'
complete -c barman -n "__fish_barman_using_subcommand show-backups" -s c -l config -d 'uses a configuration file (defaults: ~/.barman.conf, /etc/barman.conf, /etc/barman/barman.conf)' -r -F
complete -c barman -n "__fish_barman_using_subcommand show-backups" -l color -l colour -d 'use coloured output' -r -f -a "never\t'never colour'
always\t'always colour'
auto\t'colour when stdout and stderr are terminals'"
complete -c barman -n "__fish_barman_using_subcommand show-backups" -l log-level -d 'override the default log level' -r -f -a "NOTSET\t'NOTSET'
DEBUG\t'DEBUG'
INFO\t'INFO'
WARNING\t'WARNING'
ERROR\t'ERROR'
CRITICAL\t'CRITICAL'"
complete -c barman -n "__fish_barman_using_subcommand show-backups" -s f -l format -d 'output format' -r -f -a "console\t'human-readable lines'
json\t'one JSON object'"
complete -c barman -n "__fish_barman_using_subcommand show-backups" -s v -l version -d 'show program\'s version number and exit'
complete -c barman -n "__fish_barman_using_subcommand show-backups" -s q -l quiet -d 'be quiet'
complete -c barman -n "__fish_barman_using_subcommand show-backups" -s d -l debug -d 'debug output'
complete -c barman -n "__fish_barman_using_subcommand show-backups" -s h -l help -d 'show this help message and exit'
complete -c barman -n "__fish_barman_using_subcommand show-servers" -s c -l config -d 'uses a configuration file (defaults: ~/.barman.conf, /etc/barman.conf, /etc/barman/barman.conf)' -r -F
complete -c barman -n "__fish_barman_using_subcommand show-servers" -l color -l colour -d 'use coloured output' -r -f -a "never\t'never colour'
always\t'always colour'
auto\t'colour when stdout and stderr are terminals'"
complete -c barman -n "__fish_barman_using_subcommand show-servers" -l log-level -d 'override the default log level' -r -f -a "NOTSET\t'NOTSET'
DEBUG\t'DEBUG'
INFO\t'INFO'
WARNING\t'WARNING'
ERROR\t'ERROR'
CRITICAL\t'CRITICAL'"
complete -c barman -n "__fish_barman_using_subcommand show-servers" -s f -l format -d 'output format' -r -f -a "console\t'human-readable lines'
json\t'one JSON object'"
complete -c barman -n "__fish_barman_using_subcommand show-servers" -s v -l version -d 'show program\'s version number and exit'
complete -c barman -n "__fish_barman_using_subcommand show-servers" -s q -l quiet -d 'be quiet'
complete -c barman -n "__fish_barman_using_subcommand show-servers" -s d -l debug -d 'debug output'
complete -c barman -n "__fish_barman_using_subcommand show-servers" -s h -l help -d 'show this help message and exit'
complete -c barman -n "__fish_barman_using_subcommand show-server" -s c -l config -d 'uses a configuration file (defaults: ~/.barman.conf, /etc/barman.conf, /etc/barman/barman.conf)' -r -F
complete -c barman -n "__fish_barman_using_subcommand show-server" -l color -l colour -d 'use coloured output' -r -f -a "never\t'never colour'
always\t'always colour'
auto\t'colour when stdout and stderr are terminals'"
complete -c barman -n "__fish_barman_using_subcommand show-server" -l log-level -d 'override the default log level' -r -f -a "NOTSET\t'NOTSET'
DEBUG\t'DEBUG'
INFO\t'INFO'
WARNING\t'WARNING'
ERROR\t'ERROR'
CRITICAL\t'CRITICAL'"
complete -c barman -n "__fish_barman_using_subcommand show-server" -s f -l format -d 'output format' -r -f -a "console\t'human-readable lines'
json\t'one JSON object'"
complete -c barman -n "__fish_barman_using_subcommand show-server" -s v -l version -d 'show program\'s version number and exit'
complete -c barman -n "__fish_barman_using_subcommand show-server" -s q -l quiet -d 'be quiet'
complete -c barman -n "__fish_barman_using_subcommand show-server" -s d -l debug -d 'debug output'
complete -c barman -n "__fish_barman_using_subcommand show-server" -s h -l help -d 'show this help message and exit'
complete -c barman -n "__fish_barman_using_subcommand status" -s c -l config -d 'uses a configuration file (defaults: ~/.barman.conf, /etc/barman.conf, /etc/barman/barman.conf)' -r -F
complete -c barman -n "__fish_barman_using_subcommand status" -l color -l colour -d 'use coloured output' -r -f -a "never\t'never colour'
always\t'always colour'
auto\t'colour when stdout and stderr are terminals'"
complete -c barman -n "__fish_barman_using_subcommand status" -l log-level -d 'override the default log level' -r -f -a "NOTSET\t'NOTSET'
DEBUG\t'DEBUG'
INFO\t'INFO'
WARNING\t'WARNING'
ERROR\t'ERROR'
CRITICAL\t'CRITICAL'"
complete -c barman -n "__fish_barman_using_subcommand status" -s f -l format -d 'output format' -r -f -a "console\t'human-readable lines'
json\t'one JSON object'"
complete -c barman -n "__fish_barman_using_subcommand status" -s v -l version -d 'show program\'s version number and exit'
complete -c barman -n "__fish_barman_using_subcommand status" -s q -l quiet -d 'be quiet'
complete -c barman -n "__fish_barman_using_subcommand status" -s d -l debug -d 'debug output'
complete -c barman -n "__fish_barman_using_subcommand status" -s h -l help -d 'show this help message and exit'
complete -c barman -n "__fish_barman_using_subcommand switch-wal" -l archive-timeout -d 'the time, in seconds, the archiver will wait for a new WAL file to be archived before timing out' -r
complete -c barman -n "__fish_barman_using_subcommand switch-wal" -s c -l config -d 'uses a configuration file (defaults: ~/.barman.conf, /etc/barman.conf, /etc/barman/barman.conf)' -r -F
complete -c barman -n "__fish_barman_using_subcommand switch-wal" -l color -l colour -d 'use coloured output' -r -f -a "never\t'never colour'
always\t'always colour'
auto\t'colour when stdout and stderr are terminals'"
complete -c barman -n "__fish_barman_using_subcommand switch-wal" -l log-level -d 'override the default log level' -r -f -a "NOTSET\t'NOTSET'
DEBUG\t'DEBUG'
INFO\t'INFO'
WARNING\t'WARNING'
ERROR\t'ERROR'
CRITICAL\t'CRITICAL'"
complete -c barman -n "__fish_barman_using_subcommand switch-wal" -s f -l format -d 'output format' -r -f -a "console\t'human-readable lines'
json\t'one JSON object'"
complete -c barman -n "__fish_barman_using_subcommand switch-wal" -l force -d 'forces the switch of a WAL by executing a checkpoint before'
complete -c barman -n "__fish_barman_using_subcommand switch-wal" -l archive -d 'wait for one WAL file to be archived'
complete -c barman -n "__fish_barman_using_subcommand switch-wal" -s v -l version -d 'show program\'s version number and exit'
complete -c barman -n "__fish_barman_using_subcommand switch-wal" -s q -l quiet -d 'be quiet'
complete -c barman -n "__fish_barman_using_subcommand switch-wal" -s d -l debug -d 'debug output'
complete -c barman -n "__fish_barman_using_subcommand switch-wal" -s h -l help -d 'show this help message and exit'
complete -c barman -n "__fish_barman_using_subcommand switch-xlog" -l archive-timeout -d 'the time, in seconds, the archiver will wait for a new WAL file to be archived before timing out' -r
complete -c barman -n "__fish_barman_using_subcommand switch-xlog" -s c -l config -d 'uses a configuration file (defaults: ~/.barman.conf, /etc/barman.conf, /etc/barman/barman.conf)' -r -F
complete -c barman -n "__fish_barman_using_subcommand switch-xlog" -l color -l colour -d 'use coloured output' -r -f -a "never\t'never colour'
always\t'always colour'
auto\t'colour when stdout and stderr are terminals'"
complete -c barman -n "__fish_barman_using_subcommand switch-xlog" -l log-level -d 'override the default log level' -r -f -a "NOTSET\t'NOTSET'
DEBUG\t'DEBUG'
INFO\t'INFO'
WARNING\t'WARNING'
ERROR\t'ERROR'
CRITICAL\t'CRITICAL'"
complete -c barman -n "__fish_barman_using_subcommand switch-xlog" -s f -l format -d 'output format' -r -f -a "console\t'human-readable lines'
json\t'one JSON object'"
complete -c barman -n "__fish_barman_using_subcommand switch-xlog" -l force -d 'forces the switch of a WAL by executing a checkpoint before'
complete -c barman -n "__fish_barman_using_subcommand switch-xlog" -l archive -d 'wait for one WAL file to be archived'
complete -c barman -n "__fish_barman_using_subcommand switch-xlog" -s v -l version -d 'show program\'s version number and exit'
complete -c barman -n "__fish_barman_using_subcommand switch-xlog" -s q -l quiet -d 'be quiet'
complete -c barman -n "__fish_barman_using_subcommand switch-xlog" -s d -l debug -d 'debug output'
complete -c barman -n "__fish_barman_using_subcommand switch-xlog" -s h -l help -d 'show this help message and exit'
complete -c barman -n "__fish_barman_using_subcommand sync-backup" -s c -l config -d 'uses a configuration file (defaults: ~/.barman.conf, /etc/barman.conf, /etc/barman/barman.conf)' -r -F
complete -c barman -n "__fish_barman_using_subcommand sync-backup" -l color -l colour -d 'use coloured output' -r -f -a "never\t'never colour'
always\t'always colour'
auto\t'colour when stdout and stderr are terminals'"
complete -c barman -n "__fish_barman_using_subcommand sync-backup" -l log-level -d 'override the default log level' -r -f -a "NOTSET\t'NOTSET'
DEBUG\t'DEBUG'
INFO\t'INFO'
WARNING\t'WARNING'
ERROR\t'ERROR'
CRITICAL\t'CRITICAL'"
complete -c barman -n "__fish_barman_using_subcommand sync-backup" -s f -l format -d 'output format' -r -f -a "console\t'human-readable lines'
json\t'one JSON object'"
complete -c barman -n "__fish_barman_using_subcommand sync-backup" -s v -l version -d 'show program\'s version number and exit'
complete -c barman -n "__fish_barman_using_subcommand sync-backup" -s q -l quiet -d 'be quiet'
complete -c barman -n "__fish_barman_using_subcommand sync-backup" -s d -l debug -d 'debug output'
complete -c barman -n "__fish_barman_using_subcommand sync-backup" -s h -l help -d 'show this help message and exit'
complete -c barman -n "__fish_barman_using_subcommand sync-info" -s c -l config -d 'uses a configuration file (defaults: ~/.barman.conf, /etc/barman.conf, /etc/barman/barman.conf)' -r -F
complete -c barman -n "__fish_barman_using_subcommand sync-info" -l color -l colour -d 'use coloured output' -r -f -a "never\t'never colour'
always\t'always colour'
auto\t'colour when stdout and stderr are terminals'"
complete -c barman -n "__fish_barman_using_subcommand sync-info" -l log-level -d 'override the default log level' -r -f -a "NOTSET\t'NOTSET'
DEBUG\t'DEBUG'
INFO\t'INFO'
WARNING\t'WARNING'
ERROR\t'ERROR'
CRITICAL\t'CRITICAL'"
complete -c barman -n "__fish_barman_using_subcommand sync-info" -s f -l format -d 'output format' -r -f -a "console\t'human-readable lines'
json\t'one JSON object'"
complete -c barman -n "__fish_barman_using_subcommand sync-info" -l primary -d 'execute the sync-info on the primary node (if set)'
complete -c barman -n "__fish_barman_using_subcommand sync-info" -s v -l version -d 'show program\'s version number and exit'
complete -c barman -n "__fish_barman_using_subcommand sync-info" -s q -l quiet -d 'be quiet'
complete -c barman -n "__fish_barman_using_subcommand sync-info" -s d -l debug -d 'debug output'
complete -c barman -n "__fish_barman_using_subcommand sync-info" -s h -l help -d 'show this help message and exit'
complete -c barman -n "__fish_barman_using_subcommand sync-wals" -s c -l config -d 'uses a configuration file (defaults: ~/.barman.conf, /etc/barman.conf, /etc/barman/barman.conf)' -r -F
complete -c barman -n "__fish_barman_using_subcommand sync-wals" -l color -l colour -d 'use coloured output' -r -f -a "never\t'never colour'
always\t'always colour'
auto\t'colour when stdout and stderr are terminals'"
complete -c barman -n "__fish_barman_using_subcommand sync-wals" -l log-level -d 'override the default log level' -r -f -a "NOTSET\t'NOTSET'
DEBUG\t'DEBUG'
INFO\t'INFO'
WARNING\t'WARNING'
ERROR\t'ERROR'
CRITICAL\t'CRITICAL'"
complete -c barman -n "__fish_barman_using_subcommand sync-wals" -s f -l format -d 'output format' -r -f -a "console\t'human-readable lines'
json\t'one JSON object'"
complete -c barman -n "__fish_barman_using_subcommand sync-wals" -s v -l version -d 'show program\'s version number and exit'
complete -c barman -n "__fish_barman_using_subcommand sync-wals" -s q -l quiet -d 'be quiet'
complete -c barman -n "__fish_barman_using_subcommand sync-wals" -s d -l debug -d 'debug output'
complete -c barman -n "__fish_barman_using_subcommand sync-wals" -s h -l help -d 'show this help message and exit'
complete -c barman -n "__fish_barman_using_subcommand terminate-process" -s c -l config -d 'uses a configuration file (defaults: ~/.barman.conf, /etc/barman.conf, /etc/barman/barman.conf)' -r -F
complete -c barman -n "__fish_barman_using_subcommand terminate-process" -l color -l colour -d 'use coloured output' -r -f -a "never\t'never colour'
always\t'always colour'
auto\t'colour when stdout and stderr are terminals'"
complete -c barman -n "__fish_barman_using_subcommand terminate-process" -l log-level -d 'override the default log level' -r -f -a "NOTSET\t'NOTSET'
DEBUG\t'DEBUG'
INFO\t'INFO'
WARNING\t'WARNING'
ERROR\t'ERROR'
CRITICAL\t'CRITICAL'"
complete -c barman -n "__fish_barman_using_subcommand terminate-process" -s f -l format -d 'output format' -r -f -a "console\t'human-readable lines'
json\t'one JSON object'"
complete -c barman -n "__fish_barman_using_subcommand terminate-process" -s v -l version -d 'show program\'s version number and exit'
complete -c barman -n "__fish_barman_using_subcommand terminate-process" -s q -l quiet -d 'be quiet'
complete -c barman -n "__fish_barman_using_subcommand terminate-process" -s d -l debug -d 'debug output'
complete -c barman -n "__fish_barman_using_subcommand terminate-process" -s h -l help -d 'show this help message and exit'
complete -c barman -n "__fish_barman_using_subcommand verify-archive" -s c -l config -d 'uses a configuration file (defaults: ~/.barman.conf, /etc/barman.conf, /etc/barman/barman.conf)' -r -F
complete -c barman -n "__fish_barman_using_subcommand verify-archive" -l color -l colour -d 'use coloured output' -r -f -a "never\t'never colour'
always\t'always colour'
auto\t'colour when stdout and stderr are terminals'"
complete -c barman -n "__fish_barman_using_subcommand verify-archive" -l log-level -d 'override the default log level' -r -f -a "NOTSET\t'NOTSET'
DEBUG\t'DEBUG'
INFO\t'INFO'
WARNING\t'WARNING'
ERROR\t'ERROR'
CRITICAL\t'CRITICAL'"
complete -c barman -n "__fish_barman_using_subcommand verify-archive" -s f -l format -d 'output format' -r -f -a "console\t'human-readable lines'
json\t'one JSON object'"
complete -c barman -n "__fish_barman_using_subcommand verify-archive" -l full -d 'read every archived file again, not only those new or changed since the last run'
complete -c barman -n "__fish_barman_using_subcommand verify-archive" -l nagios -d 'Nagios plugin compatible output'
complete -c barman -n "__fish_barman_using_subcommand verify-archive" -s v -l version -d 'show program\'s version number and exit'
complete -c barman -n "__fish_barman_using_subcommand verify-archive" -s q -l quiet -d 'be quiet'
complete -c barman -n "__fish_barman_using_subcommand verify-archive" -s d -l debug -d 'debug output'
complete -c barman -n "__fish_barman_using_subcommand verify-archive" -s h -l help -d 'show this help message and exit'
complete -c barman -n "__fish_barman_using_subcommand verify-backup" -s c -l config -d 'uses a configuration file (defaults: ~/.barman.conf, /etc/barman.conf, /etc/barman/barman.conf)' -r -F
complete -c barman -n "__fish_barman_using_subcommand verify-backup" -l color -l colour -d 'use coloured output' -r -f -a "never\t'never colour'
always\t'always colour'
auto\t'colour when stdout and stderr are terminals'"
complete -c barman -n "__fish_barman_using_subcommand verify-backup" -l log-level -d 'override the default log level' -r -f -a "NOTSET\t'NOTSET'
DEBUG\t'DEBUG'
INFO\t'INFO'
WARNING\t'WARNING'
ERROR\t'ERROR'
CRITICAL\t'CRITICAL'"
complete -c barman -n "__fish_barman_using_subcommand verify-backup" -s f -l format -d 'output format' -r -f -a "console\t'human-readable lines'
json\t'one JSON object'"
complete -c barman -n "__fish_barman_using_subcommand verify-backup" -s v -l version -d 'show program\'s version number and exit'
complete -c barman -n "__fish_barman_using_subcommand verify-backup" -s q -l quiet -d 'be quiet'
complete -c barman -n "__fish_barman_using_subcommand verify-backup" -s d -l debug -d 'debug output'
complete -c barman -n "__fish_barman_using_subcommand verify-backup" -s h -l help -d 'show this help message and exit'
complete -c barman -n "__fish_barman_using_subcommand verify" -s c -l config -d 'uses a configuration file (defaults: ~/.barman.conf, /etc/barman.conf, /etc/barman/barman.conf)' -r -F
complete -c barman -n "__fish_barman_using_subcommand verify" -l color -l colour -d 'use coloured output' -r -f -a "never\t'never colour'
always\t'always colour'
auto\t'colour when stdout and stderr are terminals'"
complete -c barman -n "__fish_barman_using_subcommand verify" -l log-level -d 'override the default log level' -r -f -a "NOTSET\t'NOTSET'
DEBUG\t'DEBUG'
INFO\t'INFO'
WARNING\t'WARNING'
ERROR\t'ERROR'
CRITICAL\t'CRITICAL'"
complete -c barman -n "__fish_barman_using_subcommand verify" -s f -l format -d 'output format' -r -f -a "console\t'human-readable lines'
json\t'one JSON object'"
complete -c barman -n "__fish_barman_using_subcommand verify" -s v -l version -d 'show program\'s version number and exit'
complete -c barman -n "__fish_barman_using_subcommand verify" -s q -l quiet -d 'be quiet'
complete -c barman -n "__fish_barman_using_subcommand verify" -s d -l debug -d 'debug output'
complete -c barman -n "__fish_barman_using_subcommand verify" -s h -l help -d 'show this help message and exit'
