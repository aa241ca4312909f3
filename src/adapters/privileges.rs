//! Become the configured `barman_user`, as Barman's `drop_privileges` does before anything
//! touches the catalog, so files keep the owner Python Barman gives them.

use nix::unistd::{getuid, setgid, setgroups, setuid, Group, User};

/// Switch to `user` when the process runs as someone else (normally root).
///
/// # Errors
/// Barman's texts (without the `ERROR: ` prefix): the user does not exist, or the switch was
/// refused (not root).
pub fn become_user(user: &str) -> Result<(), String> {
    let missing = || format!("the configured user '{user}' does not exists");
    let account = User::from_name(user)
        .map_err(|_| missing())?
        .ok_or_else(missing)?;
    if account.uid == getuid() {
        return Ok(());
    }
    let refused = || format!("please run barman as '{user}' user");
    let mut groups = member_groups(&account.name);
    groups.push(account.gid);
    setgroups(&groups).map_err(|_| refused())?;
    setgid(account.gid).map_err(|_| refused())?;
    setuid(account.uid).map_err(|_| refused())?;
    std::env::set_var("HOME", &account.dir);
    Ok(())
}

/// Every group listing `name` as a member (Python: `grp.getgrall()` filtered on `gr_mem`).
fn member_groups(name: &str) -> Vec<nix::unistd::Gid> {
    let Ok(text) = std::fs::read_to_string("/etc/group") else {
        return Vec::new();
    };
    text.lines()
        .filter_map(|line| {
            let mut fields = line.split(':');
            let group = fields.next()?;
            let _password = fields.next()?;
            let _gid = fields.next()?;
            let members = fields.next()?;
            members
                .split(',')
                .any(|member| member == name)
                .then(|| Group::from_name(group).ok().flatten().map(|g| g.gid))
                .flatten()
        })
        .collect()
}
