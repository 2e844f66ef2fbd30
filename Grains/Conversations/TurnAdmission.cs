using OrleansCodex.Grains.Providers;

namespace OrleansCodex.Grains.Conversations;

/// <summary>
/// This node's policy for a turn, applied once, by the conversation that accepts it, with the options of the node that will run
/// the CLI (in a cluster the front end that parsed the request may be another process with other settings). A request may always
/// ask for less than the node's settings; asking for more is refused unless <c>Cli:AllowRaisingPrivileges</c>, and
/// <c>danger-full-access</c> also needs <c>Cli:CodexAllowDangerFullAccess</c>. Under <c>Cli:LocalOnly</c> a CLI whose model server is
/// not on this machine is refused before anything is stored or started.
/// </summary>
public static class TurnAdmission
{
    private const string Extension = "x_codex";

    /// <summary>Null when the node may run the turn as asked; else the refusal (a client error, 400).</summary>
    public static TurnError? Check(TurnRequest request, CliProvider provider, CliOptions options)
    {
        if (request.Sandbox is { } sandbox)
        {
            if (sandbox == "danger-full-access" && !options.CodexAllowDangerFullAccess)
            {
                return new TurnError(TurnErrorCodes.PrivilegeNotAllowed,
                    "The danger-full-access sandbox is not allowed on this server (Cli:CodexAllowDangerFullAccess / CODEX_ALLOW_DANGER_FULL_ACCESS).",
                    $"{Extension}.sandbox");
            }

            if (Rank(sandbox) > Rank(options.CodexSandboxMode) && !options.AllowRaisingPrivileges)
            {
                return new TurnError(TurnErrorCodes.PrivilegeNotAllowed,
                    $"'{Extension}.sandbox' '{sandbox}' asks for more than this server's sandbox ('{options.CodexSandboxMode}'); requests may only lower privileges (Cli:AllowRaisingPrivileges).",
                    $"{Extension}.sandbox");
            }
        }

        if (request.NetworkAccess is true)
        {
            var effective = request.Sandbox ?? options.CodexSandboxMode;
            if (effective == "read-only")
            {
                return new TurnError(TurnErrorCodes.InvalidValue,
                    $"'{Extension}.network_access' needs the workspace-write sandbox; this turn runs read-only.", $"{Extension}.network_access");
            }

            if (effective == "workspace-write" && !options.CodexNetworkAccess && !options.AllowRaisingPrivileges)
            {
                return new TurnError(TurnErrorCodes.PrivilegeNotAllowed,
                    $"'{Extension}.network_access' asks for more than this server allows (Cli:CodexNetworkAccess is false); requests may only lower privileges (Cli:AllowRaisingPrivileges).",
                    $"{Extension}.network_access");
            }
        }

        if (request.Timeout is { } timeout && timeout > options.TurnTimeout)
        {
            return new TurnError(TurnErrorCodes.InvalidValue,
                $"'{Extension}.timeout' may only lower the server's turn timeout of {options.TurnTimeout.TotalSeconds:0.#} s (Cli:TurnTimeout / CODEX_TIMEOUT).",
                $"{Extension}.timeout");
        }

        return LocalOnlyPolicy.Check(provider, options);
    }

    private static int Rank(string sandbox)
    {
        for (var i = 0; i < CliOptions.SandboxModes.Count; i++)
        {
            if (CliOptions.SandboxModes[i] == sandbox)
            {
                return i;
            }
        }

        return int.MaxValue;
    }
}
