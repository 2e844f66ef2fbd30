using System.Data.Common;

namespace OrleansCodex.Grains.Storage;

/// <summary>The small ADO.NET helpers every SQL store of the runtime and of the grains uses (both providers take <c>@name</c> parameters).</summary>
public static class DbCommandExtensions
{
    public static DbCommand CreateCommand(this DbConnection connection, string sql)
    {
        var command = connection.CreateCommand();
        command.CommandText = sql;
        return command;
    }

    /// <summary>Adds a named parameter; null becomes <see cref="DBNull"/>.</summary>
    public static void AddParameter(this DbCommand command, string name, object? value)
    {
        var parameter = command.CreateParameter();
        parameter.ParameterName = name;
        parameter.Value = value ?? DBNull.Value;
        command.Parameters.Add(parameter);
    }
}
