using System.Globalization;

namespace OrleansCodex.Grains.Tests.Providers;

/// <summary>Reads /proc to check that killed CLI processes are really gone. A zombie (state Z) counts as gone: it runs nothing.</summary>
internal static class ProcessTree
{
    public static bool IsRunning(int pid)
    {
        var stat = ReadStat(pid);
        return stat is not null && stat.Value.State != 'Z';
    }

    /// <summary>All live descendants of <paramref name="pid"/>.</summary>
    public static IReadOnlyList<int> Descendants(int pid)
    {
        var all = AllProcesses();
        var result = new List<int>();
        var frontier = new Queue<int>([pid]);
        while (frontier.Count > 0)
        {
            var parent = frontier.Dequeue();
            foreach (var child in all.Where(p => p.ParentPid == parent && p.State != 'Z').Select(p => p.Pid))
            {
                result.Add(child);
                frontier.Enqueue(child);
            }
        }

        return result;
    }

    /// <summary>Live children of this test process that are a Codex or Claude CLI.</summary>
    public static IReadOnlyList<string> CliChildrenOfThisProcess() =>
        AllProcesses()
            .Where(p => p.ParentPid == Environment.ProcessId && p.State != 'Z' && (p.Name.StartsWith("codex", StringComparison.Ordinal) || p.Name.StartsWith("claude", StringComparison.Ordinal)))
            .Select(p => $"{p.Pid} {p.Name}")
            .ToArray();

    private static List<(int Pid, string Name, char State, int ParentPid)> AllProcesses()
    {
        var list = new List<(int, string, char, int)>();
        foreach (var directory in Directory.EnumerateDirectories("/proc"))
        {
            if (int.TryParse(Path.GetFileName(directory), NumberStyles.None, CultureInfo.InvariantCulture, out var pid) && ReadStat(pid) is { } stat)
            {
                list.Add((pid, stat.Name, stat.State, stat.ParentPid));
            }
        }

        return list;
    }

    private static (string Name, char State, int ParentPid)? ReadStat(int pid)
    {
        try
        {
            // "pid (comm) state ppid ...": comm may contain spaces and parentheses, so split at the last ')'.
            var text = File.ReadAllText($"/proc/{pid}/stat");
            var open = text.IndexOf('(', StringComparison.Ordinal);
            var close = text.LastIndexOf(')');
            var rest = text[(close + 2)..].Split(' ');
            return (text[(open + 1)..close], rest[0][0], int.Parse(rest[1], CultureInfo.InvariantCulture));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException or ArgumentOutOfRangeException)
        {
            return null;
        }
    }
}
